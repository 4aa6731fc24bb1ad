package fetcher

import (
	"context"
	"io"

	"github.com/boltfetch/boltfetch/artifacts"
)

// analysisPendingBytes caps the manifest bytes an analysis holds while its
// run_results is still arriving. It matters only for analyses that read a
// download as it streams (archived files are re-read at an offset instead):
// past it the analysis waits, its stream is abandoned, and the archived file
// is analysed once complete. It keeps memory flat as artifacts grow.
const analysisPendingBytes = 2 << 20

// defaultAnalyzer is the artifacts package's streaming analysis with its
// default limits.
var defaultAnalyzer = NewAnalyzer(artifacts.Options{})

// NewAnalyzer returns the artifacts package's streaming analysis with the
// given limits (zero fields take artifacts' defaults, except MaxPendingBytes,
// which defaults to 2 MiB here so that memory stays flat as downloads grow).
func NewAnalyzer(opts artifacts.Options) Analyzer {
	if opts.MaxPendingBytes == 0 {
		opts.MaxPendingBytes = analysisPendingBytes
	}
	return func(ctx context.Context, manifest, runResults io.Reader) (*artifacts.Analysis, error) {
		return artifacts.Analyze(ctx, manifest, runResults, opts)
	}
}
