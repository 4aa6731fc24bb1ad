package fetcher

import (
	"context"
	"io"
)

// defaultAnalyzer is replaced by artifacts.Analyze as soon as the artifacts
// package is in the tree; until then Fetch archives without analysing.
func defaultAnalyzer(ctx context.Context, manifest, runResults io.Reader) (Analysis, error) {
	return nil, nil
}
