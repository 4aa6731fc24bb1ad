// Package artifacts reads the two dbt artifacts a run leaves behind,
// manifest.json and run_results.json, and says what failed, what warned and
// what was skipped, and for each skipped node which failures upstream caused
// the skip.
//
// It sits after the fetcher in the flow: the fetcher downloads the artifacts
// and hands readers to [Analyze]; `boltfetch analyze` calls [AnalyzeFiles] on
// files already on disk. It imports nothing else of boltfetch.
//
// # Streaming
//
// Manifests of large projects run to hundreds of megabytes, so neither file
// is ever held whole nor decoded into a generic map. Both are read at once,
// in two goroutines, as a stream of JSON tokens
// (github.com/go-json-experiment/json/jsontext). Of the manifest only the
// graph is kept for every node (its parents and the node a test is attached
// to, as small integers); macros, docs, sources, child_map and the like are
// skipped without being decoded. Full detail is decoded only for the nodes
// the analysis reports.
//
// The manifest pass cannot know which nodes will be reported until
// run_results has been read. run_results is much smaller and usually
// finishes first, publishing the reported ids as it goes. Until it does, the
// manifest pass keeps the raw bytes of each node it meets, up to
// [Options.MaxPendingBytes]; past that budget it waits for run_results. Memory
// therefore stays bounded whatever the order in which the files arrive.
//
// # Shapes
//
// Every dbt version from before 0.19 (results embedding their node, no
// schema header) to 1.x (manifest v1–v12, run_results v1–v6) and dbt Fusion
// is read the same way: by the fields present, never by the header, because
// headers of real files are sometimes edited by hand. Unknown fields are
// skipped and unknown statuses are kept as they are.
package artifacts
