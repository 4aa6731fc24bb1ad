package fetcher

import (
	"context"
	"io"

	"github.com/boltfetch/boltfetch/artifacts"
)

// defaultAnalyzer is the artifacts package's streaming analysis.
func defaultAnalyzer(ctx context.Context, manifest, runResults io.Reader) (Analysis, error) {
	a, err := artifacts.Analyze(ctx, manifest, runResults, artifacts.Options{})
	if err != nil {
		return nil, err
	}
	return dbtAnalysis{a}, nil
}

// dbtAnalysis is an *artifacts.Analysis as the report embeds it: the same
// JSON object, its own text and Markdown renderings, and node counts for
// the summary.
type dbtAnalysis struct{ *artifacts.Analysis }

// NodeCounts implements NodeCounter.
func (a dbtAnalysis) NodeCounts() (failed, warned, skipped int) {
	return len(a.Failed), len(a.Warned), len(a.Skipped)
}
