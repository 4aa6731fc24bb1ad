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
// is ever held whole nor decoded into a generic map, and both are read at
// once:
//
//   - run_results is read with jsontext token streaming. Results whose status
//     is not reported are skipped past as soon as their status is known.
//   - the manifest, the critical path, is a pipeline of three goroutines: a
//     read-ahead, a skimmer that finds where each value begins and ends
//     (string and bracket matching, without decoding or validating), and a
//     graph builder. Of every node the skimmer passes on only its id and the
//     raw values of depends_on, attached_node and (unit tests) model, found
//     in the same pass; the builder interns ids into small integers.
//     parent_map feeds the builder too; macros, docs, sources, child_map and
//     the like are skipped without being kept.
//   - full detail is decoded, with jsontext, only for the nodes the analysis
//     reports, by the graph builder (off the skimmer's goroutine).
//     Options.Validate also checks every other node (slower).
//     Without it, the skimmer checks only that a value it is asked for
//     (a node, a top-level member) that is not a string, object or array is
//     true, false, null or a number: `not json` is ErrNotJSON.
//
// A node is held whole while it is read, but only up to
// [Options.MaxNodeBytes] (16 MiB by default; so are parent_map entries, the
// metadata and member names), so memory does not grow with the largest
// node. A bigger node is skipped to its end without being held: it counts as
// defined, its details and edges are dropped, and Analysis.Warnings names it
// and says that causes of skips through it may be missing. Strings that are
// skipped are never held, however long.
//
// The manifest pass cannot know which nodes are reported until run_results
// has been read. run_results is much smaller and usually finishes first,
// publishing reported ids as it goes. Nodes met before that are noted as
// offsets when the manifest is a file that can be read again (12 bytes
// each), or else kept as raw bytes up to [Options.MaxPendingBytes], past
// which the pass waits for run_results. Memory therefore stays bounded
// whatever the order in which the files arrive.
//
// An artifact that is UTF-16, UTF-32, starts with a byte order mark or is
// compressed fails at byte 0 with an *EncodingError naming it (see
// internal/sniff), not with a JSON syntax error. A size limit that is hit
// fails with a *LimitError saying which limit, so that callers word it with
// their own setting's name: no error or warning of this package names a CLI
// flag or an Options field.
//
// # Growth
//
// No output and no memory of the analysis grows faster than its input:
//
//   - a unique_id that run_results lists again is counted and reported once,
//     from its first result (Analysis.DuplicateResults counts the others and
//     a warning says so), so duplicates multiply nothing;
//   - a skipped node's caused_by holds at most MaxCausedBy ids, with
//     CausedByCount the number of all, so many failures above many skipped
//     nodes do not make a quadratic report, nor quadratic memory;
//   - compiled code is kept for failed and warned nodes only, at most
//     MaxCompiledCodeBytes of it;
//   - WriteText and WriteMarkdown bound each message (lines and bytes) and
//     each list of causes;
//   - ids are held once, in the graph, as small integers; run_results ids as
//     64-bit hashes.
//
// TestGrowth checks this on adversarial pairs in a child process. The time
// to find causes is not bounded that way: it is the sum, over failing
// nodes, of the nodes downstream of each.
//
// # Output
//
// The JSON form of an Analysis is versioned (AnalysisVersion), streamed
// (MarshalJSONTo writes to a jsontext.Encoder) and decodes back exactly
// (UnmarshalJSONFrom); every string in it is valid UTF-8. WriteText and
// WriteMarkdown print every string from the artifacts through
// internal/safetext: no control or bidi character reaches a terminal or a
// comment raw.
//
// # Shapes
//
// Every dbt version from before 0.19 (results embedding their node, no
// schema header) through 1.x (manifest v1–v12, run_results v1–v6) to dbt
// Fusion is read the same way: by the fields present, never by the header,
// because headers of real files are sometimes edited by hand. Unknown fields
// are skipped and unknown statuses are kept as they are.
//
// # Causes of skips
//
// A skipped node's caused_by lists the failing nodes (error, fail, runtime
// error, partial success) whose failure explains the skip, from parent_map
// when present, else depends_on.nodes:
//
//   - a failing model, seed, snapshot or hook blocks everything downstream;
//   - a failing test blocks everything downstream of the non-test children
//     of the node it tests (attached_node, else its parents), so not that
//     node's other tests;
//   - a failing unit test blocks the model it tests and everything
//     downstream (dbt build skips the model).
//
// An empty caused_by is a legitimate answer: dbt Fusion skips reused nodes
// without any failure.
package artifacts
