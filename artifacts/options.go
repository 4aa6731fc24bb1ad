package artifacts

import "math"

// Default limits used when an Options field is zero.
const (
	DefaultMaxManifestBytes   int64 = 4 << 30  // 4 GiB
	DefaultMaxRunResultsBytes int64 = 1 << 30  // 1 GiB
	DefaultMaxPendingBytes    int64 = 32 << 20 // 32 MiB
	DefaultMaxNodeBytes       int64 = 16 << 20 // 16 MiB
)

// Options holds explicit, configurable limits. Zero values mean the
// documented defaults.
type Options struct {
	// MaxManifestBytes caps the size of manifest.json. Default 4 GiB.
	MaxManifestBytes int64
	// MaxRunResultsBytes caps the size of run_results.json. Default 1 GiB.
	MaxRunResultsBytes int64
	// MaxPendingBytes caps the raw manifest bytes kept while run_results is
	// still being read (see the package doc). A negative value keeps none:
	// the manifest pass then waits for run_results before its first node.
	// Default 32 MiB.
	MaxPendingBytes int64
	// MaxNodeBytes caps the bytes of one manifest value held in memory at a
	// time: a node of nodes or unit_tests, a parent_map entry, the metadata,
	// a member name. Memory therefore stays bounded whatever the size of the
	// largest node. A node past the cap is skipped without being held: it
	// counts as defined, but its details, depends_on and attached_node are
	// dropped, and Analysis.Oversized lists it and Analysis.Warnings names
	// it, since causes of skips that go through it may be missing (with
	// Validate, it is not checked either).
	// A parent_map entry past the cap is dropped the same way (that node's
	// parents then come from depends_on), and so is metadata; a member name
	// past it fails with a *LimitError (LimitValue), matching ErrTooLarge. No real dbt node comes near the
	// default, 16 MiB, which keeps peak memory near 100 MB whatever the input.
	MaxNodeBytes int64
	// Validate checks that every manifest node is valid JSON. By default
	// only the structure of the manifest and the nodes decoded for the report
	// are checked, which is what makes skipping the rest cheap; validating
	// costs about as much again as the whole analysis.
	Validate bool
	// ManifestName and RunResultsName name the files in errors. Defaults
	// "manifest" and "run_results"; AnalyzeFiles uses the paths.
	ManifestName, RunResultsName string

	// byteLoop keeps the skimmer on its byte loop (see blockSkip), for the
	// tests that compare the two paths.
	byteLoop bool
}

func (o Options) withDefaults() Options {
	if o.MaxManifestBytes <= 0 {
		o.MaxManifestBytes = DefaultMaxManifestBytes
	}
	if o.MaxRunResultsBytes <= 0 {
		o.MaxRunResultsBytes = DefaultMaxRunResultsBytes
	}
	if o.MaxNodeBytes <= 0 {
		o.MaxNodeBytes = DefaultMaxNodeBytes
	}
	o.MaxNodeBytes = min(o.MaxNodeBytes, math.MaxInt32)
	if o.MaxPendingBytes == 0 {
		o.MaxPendingBytes = DefaultMaxPendingBytes
	}
	if o.ManifestName == "" {
		o.ManifestName = "manifest"
	}
	if o.RunResultsName == "" {
		o.RunResultsName = "run_results"
	}
	return o
}
