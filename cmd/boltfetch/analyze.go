package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/boltfetch/boltfetch/archive"
	"github.com/boltfetch/boltfetch/artifacts"
	"github.com/boltfetch/boltfetch/internal/safetext"
	"github.com/spf13/cobra"
)

// analyzeOptions are the flags of `boltfetch analyze`.
type analyzeOptions struct {
	Manifest, RunResults string
	Format               string
	Limits               artifacts.Options
	MaxManifestSize      string
	MaxRunResultsSize    string
	MaxNodeSize          string
	FailOnDBTFailure     bool
}

func newAnalyzeCmd(io *iostreams, runF func(*analyzeOptions) error) *cobra.Command {
	opts := &analyzeOptions{}
	cmd := &cobra.Command{
		Use:   "analyze --manifest M --run-results R [--format text|json|markdown]",
		Short: "Say which dbt nodes failed, warned or were skipped, and why",
		Long: `Analyze reads a dbt manifest.json and run_results.json (any dbt version from
0.x to Fusion) and reports the failed, warned and skipped nodes, each skipped
node with the failures upstream that caused it.

Either file may be zstd-compressed (name.json.zst, as --compress zstd
archives it); naming name.json finds name.json.zst when name.json is absent.

Exit status: 0 when the artifacts were analysed, whatever dbt's outcome
(3 with --fail-on-dbt-failure when a node failed); 2 when a file is
missing, unreadable, truncated, not UTF-8 JSON or not the expected artifact.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Manifest == "" || opts.RunResults == "" {
				return withCode(exitBadInput, errors.New("both --manifest and --run-results are required"))
			}
			switch opts.Format {
			case "text", "json", "markdown":
			default:
				return withCode(exitBadInput, fmt.Errorf("--format %q: want text, json or markdown", opts.Format))
			}
			var err error
			if opts.Limits.MaxManifestBytes, err = parseSize(opts.MaxManifestSize); err != nil {
				return withCode(exitBadInput, fmt.Errorf("--max-manifest-size: %w", err))
			}
			if opts.Limits.MaxRunResultsBytes, err = parseSize(opts.MaxRunResultsSize); err != nil {
				return withCode(exitBadInput, fmt.Errorf("--max-run-results-size: %w", err))
			}
			if opts.Limits.MaxNodeBytes, err = parseSize(opts.MaxNodeSize); err != nil {
				return withCode(exitBadInput, fmt.Errorf("--max-node-size: %w", err))
			}
			if runF != nil {
				return runF(opts)
			}
			return runAnalyze(cmd, io, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Manifest, "manifest", "", "path of manifest.json")
	f.StringVar(&opts.RunResults, "run-results", "", "path of run_results.json")
	f.StringVar(&opts.Format, "format", "text", "output format: text, json or markdown")
	f.StringVar(&opts.MaxManifestSize, "max-manifest-size", "4GiB", "refuse a manifest larger than this (bytes, or with KB/MB/GB/KiB/MiB/GiB)")
	f.StringVar(&opts.MaxRunResultsSize, "max-run-results-size", "1GiB", "refuse a run_results larger than this")
	f.StringVar(&opts.MaxNodeSize, "max-node-size", "16MiB", "hold at most this much of one manifest node; a larger node is skipped with a warning (its edges are lost)")
	f.BoolVar(&opts.Limits.Validate, "validate", false, "check that every manifest node is valid JSON (slower)")
	f.BoolVar(&opts.FailOnDBTFailure, "fail-on-dbt-failure", false, "exit 3 when dbt itself failed (a failed node) and the analysis succeeded")
	return cmd
}

func runAnalyze(cmd *cobra.Command, io *iostreams, opts *analyzeOptions) error {
	a, err := analyzeMaybeCompressed(cmd.Context(), opts.Manifest, opts.RunResults, opts.Limits)
	if err != nil {
		return withCode(exitBadInput, analyzeError(err))
	}
	for _, o := range a.Oversized {
		fmt.Fprintf(io.Err, "boltfetch: the manifest %s %s (%d bytes) is over --max-node-size (%d bytes): it was skipped; raise --max-node-size to keep it\n", o.What, safetext.Line(o.ID), o.Size, o.Limit)
	}
	switch opts.Format {
	case "json":
		err = a.WriteJSON(io.Out)
	case "markdown":
		err = a.WriteMarkdown(io.Out)
	default:
		err = a.WriteText(io.Out)
	}
	if err != nil {
		return fmt.Errorf("write the analysis: %w", err)
	}
	if opts.FailOnDBTFailure && len(a.Failed) > 0 {
		return withCode(exitDBTFailed, fmt.Errorf("dbt failed: %d node(s) failed (--fail-on-dbt-failure)", len(a.Failed)))
	}
	return nil
}

// analyzeError words a library error with the flag that sets the limit it
// hit.
func analyzeError(err error) error {
	var le *artifacts.LimitError
	if errors.As(err, &le) {
		flag := map[string]string{
			artifacts.LimitManifest:   "--max-manifest-size",
			artifacts.LimitRunResults: "--max-run-results-size",
			artifacts.LimitValue:      "--max-node-size",
		}[le.Limit]
		if flag != "" {
			return fmt.Errorf("%w (raise %s)", err, flag)
		}
	}
	return err
}

// analyzeMaybeCompressed analyses two artifacts, either of which may be
// zstd-compressed as boltfetch archives them with --compress zstd: a path
// ending in .zst, or a missing path whose .zst sibling exists, is read
// through a streaming decompressor. Plain files take AnalyzeFiles as before.
func analyzeMaybeCompressed(ctx context.Context, manifest, runResults string, limits artifacts.Options) (*artifacts.Analysis, error) {
	if !isCompressed(manifest) && !isCompressed(runResults) {
		return artifacts.AnalyzeFiles(ctx, manifest, runResults, limits)
	}
	mr, _, _, err := archive.OpenFile(manifest)
	if err != nil {
		return nil, &artifacts.ParseError{File: manifest, Err: err}
	}
	defer mr.Close()
	rr, _, _, err := archive.OpenFile(runResults)
	if err != nil {
		return nil, &artifacts.ParseError{File: runResults, Err: err}
	}
	defer rr.Close()
	limits.ManifestName, limits.RunResultsName = manifest, runResults
	return artifacts.Analyze(ctx, mr, rr, limits)
}

// isCompressed reports whether archive.OpenFile would decompress path.
func isCompressed(path string) bool {
	if strings.HasSuffix(path, archive.ZstdSuffix) {
		return true
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	_, err := os.Stat(path + archive.ZstdSuffix)
	return err == nil
}
