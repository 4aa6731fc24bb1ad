package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/boltfetch/boltfetch/archive"
	"github.com/boltfetch/boltfetch/archive/blobstore"
	"github.com/boltfetch/boltfetch/client"
	"github.com/boltfetch/boltfetch/fetcher"
	"github.com/boltfetch/boltfetch/internal/safetext"
	"github.com/boltfetch/boltfetch/lineage"
)

// lineageFlags are the OpenLineage flags shared by fetch (a payload or
// --run-id), demo, serve, backfill and lineage.
type lineageFlags struct {
	File             string
	URL              string
	APIKey           string
	Namespace        string
	DatasetNamespace string
}

func (l *lineageFlags) add(f *pflag.FlagSet) {
	f.StringVar(&l.File, "openlineage-file", "", "append the run's OpenLineage events to this NDJSON file (one block per run)")
	f.StringVar(&l.URL, "openlineage-url", "", "POST the run's OpenLineage events to this endpoint (e.g. Marquez's http://host:5000/api/v1/lineage)")
	f.StringVar(&l.APIKey, "openlineage-api-key", "", "API key for --openlineage-url, sent as Bearer (env OPENLINEAGE_API_KEY)")
	f.StringVar(&l.Namespace, "openlineage-namespace", "", "namespace of the OpenLineage jobs (default paradime://<workspace>)")
	f.StringVar(&l.DatasetNamespace, "openlineage-dataset-namespace", "", "namespace of the datasets, e.g. postgres://db.example.com:5432 (default from the adapter type, with the host unknown)")
}

// Tests shorten the HTTP sink's backoff with these (zero: its defaults).
var lineageRetryWaitMin, lineageMaxRetryAfter time.Duration

// enabled reports whether an OpenLineage destination was named.
func (l *lineageFlags) enabled() bool { return l.File != "" || l.URL != "" }

// exporter builds the exporter the flags ask for; nil when none. Errors are
// bad input.
func (l *lineageFlags) exporter(getenv func(string) string, logger *slog.Logger) (*lineage.Exporter, error) {
	if l.File != "" && l.URL != "" {
		return nil, errors.New("--openlineage-file and --openlineage-url: give one of them")
	}
	if !l.enabled() {
		if l.APIKey != "" || l.Namespace != "" || l.DatasetNamespace != "" {
			return nil, errors.New("the --openlineage-* options need --openlineage-file or --openlineage-url")
		}
		return nil, nil
	}
	var sink lineage.Sink
	var err error
	if l.File != "" {
		if sink, err = lineage.NewFileSink(l.File); err != nil {
			return nil, fmt.Errorf("--openlineage-file: %w", err)
		}
	} else {
		key := l.APIKey
		if key == "" && getenv != nil {
			key = getenv("OPENLINEAGE_API_KEY")
		}
		if u, perr := url.Parse(l.URL); perr == nil && key != "" && u.Scheme == "http" && !client.IsLoopbackHost(u.Hostname()) && logger != nil {
			logger.Warn("the OpenLineage API key is sent over plain http; use https", "host", u.Host)
		}
		if sink, err = lineage.NewHTTPSink(lineage.HTTPConfig{URL: l.URL, APIKey: key, Logger: logger, RetryWaitMin: lineageRetryWaitMin, MaxRetryAfter: lineageMaxRetryAfter}); err != nil {
			return nil, fmt.Errorf("--openlineage-url: %w", err)
		}
	}
	return lineage.New(lineage.Config{Namespace: l.Namespace, DatasetNamespace: l.DatasetNamespace, Version: version, Logger: logger}, sink)
}

// lineageOptions are the flags of `boltfetch lineage`.
type lineageOptions struct {
	io       *iostreams
	getenv   func(string) string
	Run      string
	Out      string
	LogLevel string
	Lineage  lineageFlags
}

func newLineageCmd(io *iostreams, runF func(*lineageOptions) error) *cobra.Command {
	opts := &lineageOptions{io: io, getenv: io.getenv}
	cmd := &cobra.Command{
		Use:   "lineage RUN [--out ARCHIVE] (--openlineage-file F | --openlineage-url U)",
		Short: "Send the OpenLineage events of a run already archived",
		Long: `Lineage reads a run that fetch (or demo) archived, its report.json and its
commands' manifest.json and run_results.json, and sends its OpenLineage events:
the Bolt run, each command, and each executed dbt node with its datasets, its
SQL, dbt's error message when it failed and, for skipped nodes, the failures
upstream that caused the skip. Use it to backfill a lineage tool (Marquez,
DataHub, any OpenLineage consumer) from an archive. The run ids are the ones
fetch sends, so a consumer merges rather than duplicates.

RUN is a run folder (<out>/<workspace>/<schedule>/<run id>), or that path
relative to --out. --out is a folder or an object-storage URL, as for fetch
(s3://bucket/prefix?region=..., gs://bucket/prefix, azblob://container/prefix,
file:///path), read with the same credentials. Archives written with
--compress zstd are read as they are, decompressed on the fly.

Exit codes: 0 every event was delivered; 1 some were not, or a command's
artifacts could not be read (the error says which); 2 unusable input.`,
		Example: `  boltfetch lineage --out ./boltfetch-archive demo-jaffle/daily_run/63187 --openlineage-url http://localhost:5000/api/v1/lineage
  boltfetch lineage ./boltfetch-archive/demo-jaffle/daily_run/63187 --openlineage-file events.ndjson
  boltfetch lineage --out 's3://my-bucket/boltfetch?region=eu-west-1' demo-jaffle/daily_run/63187 --openlineage-file events.ndjson`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Run = args[0]
			if !opts.Lineage.enabled() {
				return withCode(exitBadInput, errors.New("name where the events go: --openlineage-file or --openlineage-url"))
			}
			if runF != nil {
				return runF(opts)
			}
			return runLineage(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Out, "out", "./boltfetch-archive", "the archive RUN is relative to, when RUN is not itself a run folder: a folder or an s3://, gs://, azblob:// or file:// URL")
	f.StringVar(&opts.LogLevel, "log-level", "warn", "stderr log level: debug, info, warn, error")
	opts.Lineage.add(f)
	return cmd
}

// maxReportSize bounds the report.json read.
const maxReportSize = 256 << 20

func runLineage(ctx context.Context, opts *lineageOptions) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(opts.LogLevel)); err != nil {
		return withCode(exitBadInput, fmt.Errorf("--log-level %q: %w", opts.LogLevel, err))
	}
	logger := slog.New(slog.NewTextHandler(opts.io.Err, &slog.HandlerOptions{Level: level}))
	ex, err := opts.Lineage.exporter(opts.getenv, logger)
	if err != nil {
		return withCode(exitBadInput, err)
	}
	store, rep, err := openArchivedRun(ctx, opts.Run, opts.Out, logger)
	if err != nil {
		return withCode(exitBadInput, err)
	}
	defer store.Close()
	start := time.Now()
	errs := fetcher.ExportLineage(ctx, ex, rep, store)
	for _, e := range errs {
		printLineageError(opts.io.Err, e)
	}
	if len(errs) > 0 {
		return withCode(exitPartial, fmt.Errorf("%d lineage error(s) for run %s", len(errs), rep.Run.ID))
	}
	logger.Info("lineage sent", "run", rep.Run.ID, "commands", len(rep.Commands), "elapsed", time.Since(start).Round(time.Millisecond))
	return nil
}

// printLineageError prints one lineage error on one line; its message
// quotes outside text (an endpoint's answer), so every control is escaped.
func printLineageError(w io.Writer, e fetcher.ItemError) {
	fmt.Fprintf(w, "lineage error (kind %s%s): %s\n", safetext.Line(e.Kind), commandNote(e.CommandID), safetext.Line(e.Message))
}

func commandNote(id fetcher.ID) string {
	if id == "" {
		return ""
	}
	return ", command " + safetext.Line(string(id))
}

// openArchivedRun finds the run and its report: RUN is a run folder holding
// a report.json (the archive's root is then RUN without the report's
// archive.folder), else RUN is the run's folder under out, which is a
// folder or an object-storage URL (opened as fetch opens --out). The
// artifacts are then read as the report recorded them stored, compressed
// or not.
func openArchivedRun(ctx context.Context, run, out string, logger *slog.Logger) (blobstore.ClosableStore, *fetcher.Report, error) {
	if fi, err := os.Stat(filepath.Join(run, "report.json")); err == nil && fi.Mode().IsRegular() {
		rep, err := readReportFile(filepath.Join(run, "report.json"))
		if err != nil {
			return nil, nil, err
		}
		abs, err := filepath.Abs(run)
		if err != nil {
			return nil, nil, err
		}
		folder := filepath.FromSlash(rep.Archive.Folder)
		root, ok := strings.CutSuffix(filepath.Clean(abs), string(filepath.Separator)+folder)
		if rep.Archive.Folder == "" || !ok {
			return nil, nil, fmt.Errorf("%s: its report.json says the run's folder is %q, which this path does not end with: give --out and RUN relative to it", run, rep.Archive.Folder)
		}
		store, err := archive.NewLocal(root)
		if err != nil {
			return nil, nil, err
		}
		return store, rep, nil
	}
	if filepath.IsAbs(run) {
		return nil, nil, fmt.Errorf("%s: no report.json in this folder", run)
	}
	key := path.Clean(filepath.ToSlash(run))
	if err := archive.CheckKey(key); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", run, err)
	}
	store, err := openOutToRead(ctx, out, logger)
	if err != nil {
		return nil, nil, err
	}
	raw, err := archive.ReadFile(ctx, store, path.Join(key, "report.json"), maxReportSize)
	if err != nil {
		store.Close()
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("%s: no report.json, neither in this folder nor under --out %s", run, store.Location())
		}
		return nil, nil, err
	}
	rep, err := fetcher.DecodeReport(bytes.NewReader(raw))
	if err != nil {
		store.Close()
		return nil, nil, fmt.Errorf("%s/report.json: %w", run, err)
	}
	return store, rep, nil
}

func readReportFile(name string) (*fetcher.Report, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rep, err := fetcher.DecodeReport(io.LimitReader(f, maxReportSize))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return rep, nil
}
