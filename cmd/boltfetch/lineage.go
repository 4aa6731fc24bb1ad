package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/boltfetch/boltfetch/archive"
	"github.com/boltfetch/boltfetch/artifacts"
	"github.com/boltfetch/boltfetch/lineage"
)

// lineageFlags are the OpenLineage flags shared by fetch, demo and lineage.
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
	opts := &lineageOptions{io: io, getenv: os.Getenv}
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
relative to --out.

Exit codes: 0 every event was delivered; 1 some were not, or a command's
artifacts could not be read (the error says which); 2 unusable input.`,
		Example: `  boltfetch lineage --out ./boltfetch-archive demo-jaffle/daily_run/63187 --openlineage-url http://localhost:5000/api/v1/lineage
  boltfetch lineage ./boltfetch-archive/demo-jaffle/daily_run/63187 --openlineage-file events.ndjson`,
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
	f.StringVar(&opts.Out, "out", "./boltfetch-archive", "the archive RUN is relative to, when RUN is not itself a run folder")
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
	store, prefix, err := openRunFolder(opts.Run, opts.Out)
	if err != nil {
		return withCode(exitBadInput, err)
	}
	raw, err := archive.ReadFile(ctx, store, path.Join(prefix, "report.json"), maxReportSize)
	if err != nil {
		return withCode(exitBadInput, fmt.Errorf("%s: %w", opts.Run, err))
	}
	rep, err := decodeArchivedReport(raw)
	if err != nil {
		return withCode(exitBadInput, fmt.Errorf("%s/report.json: %w", opts.Run, err))
	}
	run, cmds, err := rep.lineage(ctx, store, prefix)
	if err != nil {
		return withCode(exitBadInput, err)
	}
	start := time.Now()
	if err := ex.Export(ctx, run, cmds); err != nil {
		return withCode(exitPartial, err)
	}
	logger.Info("lineage sent", "run", run.ID, "commands", len(cmds), "elapsed", time.Since(start).Round(time.Millisecond))
	return nil
}

// openRunFolder returns the store holding the run and the run folder's key
// prefix in it: RUN itself when it holds a report.json, else RUN under out.
func openRunFolder(run, out string) (archive.Store, string, error) {
	if fi, err := os.Stat(filepath.Join(run, "report.json")); err == nil && fi.Mode().IsRegular() {
		store, err := archive.NewLocal(run)
		return store, "", err
	}
	if filepath.IsAbs(run) {
		return nil, "", fmt.Errorf("%s: no report.json in this folder", run)
	}
	store, err := archive.NewLocal(out)
	if err != nil {
		return nil, "", fmt.Errorf("--out %s: %w", out, err)
	}
	key := path.Clean(filepath.ToSlash(run))
	if err := archive.CheckKey(key); err != nil {
		return nil, "", fmt.Errorf("%s: %w", run, err)
	}
	if _, err := store.Stat(context.Background(), path.Join(key, "report.json")); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, "", fmt.Errorf("%s: no report.json, neither in this folder nor under --out %s", run, out)
		}
		return nil, "", err
	}
	return store, key, nil
}

// archivedReport is what lineage reads of report.json: the run's and the
// commands' identity and statuses, and where their files are.
type archivedReport struct {
	Run struct {
		ID           textID `json:"id"`
		Status       string `json:"status"`
		ScheduleName string `json:"schedule_name"`
		Workspace    struct {
			Name string `json:"name"`
		} `json:"workspace"`
		RunURL string `json:"run_url"`
		Start  string `json:"start"`
		End    string `json:"end"`
	} `json:"run"`
	Archive struct {
		Folder string `json:"folder"`
	} `json:"archive"`
	Commands []struct {
		ID         textID `json:"id"`
		Command    string `json:"command"`
		Status     string `json:"status"`
		ReturnCode *int   `json:"return_code"`
		Start      string `json:"start"`
		End        string `json:"end"`
		Logs       *struct {
			Stdout *struct {
				Path string `json:"path"`
			} `json:"stdout"`
			Stderr *struct {
				Path string `json:"path"`
			} `json:"stderr"`
		} `json:"logs"`
		Artifacts []struct {
			Path     string  `json:"path"`
			Location string  `json:"location"`
			Error    *string `json:"error"`
		} `json:"artifacts"`
	} `json:"commands"`
}

// textID is an id written as a JSON number or string.
type textID string

func (id *textID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*id = textID(s)
		return nil
	}
	if string(b) == "null" {
		*id = ""
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("an id must be a number or a string: %w", err)
	}
	*id = textID(n.String())
	return nil
}

func decodeArchivedReport(raw []byte) (*archivedReport, error) {
	var rep archivedReport
	if err := json.Unmarshal(raw, &rep); err != nil {
		return nil, err
	}
	if rep.Run.ID == "" {
		return nil, errors.New("no run id: not a boltfetch report")
	}
	return &rep, nil
}

// lineage turns the report into the exporter's run and commands, opening
// the archived files through store.
func (rep *archivedReport) lineage(ctx context.Context, store archive.Store, prefix string) (lineage.Run, []lineage.Command, error) {
	run := lineage.Run{
		ID: string(rep.Run.ID), Workspace: rep.Run.Workspace.Name, ScheduleName: rep.Run.ScheduleName,
		Status: rep.Run.Status, URL: rep.Run.RunURL, Start: parseReportTime(rep.Run.Start), End: parseReportTime(rep.Run.End),
	}
	// Report paths are relative to the archive's root; the run's files are
	// under prefix in store.
	key := func(loc string) string {
		rel := strings.TrimPrefix(loc, rep.Archive.Folder+"/")
		return path.Join(prefix, rel)
	}
	open := func(k string) artifacts.Opener {
		return func(ctx context.Context) (io.ReadCloser, error) { return store.Open(ctx, k) }
	}
	tail := func(loc string) string {
		r, err := store.Open(ctx, key(loc))
		if err != nil {
			return ""
		}
		defer r.Close()
		s, _ := lineage.Tail(r, lineage.MaxErrorMessage)
		return s
	}
	var cmds []lineage.Command
	for _, c := range rep.Commands {
		lc := lineage.Command{ID: string(c.ID), Command: c.Command, Status: c.Status, ReturnCode: c.ReturnCode,
			Start: parseReportTime(c.Start), End: parseReportTime(c.End)}
		if c.Logs != nil && !strings.EqualFold(c.Status, "succeeded") {
			if c.Logs.Stderr != nil && c.Logs.Stderr.Path != "" {
				lc.StderrTail = tail(c.Logs.Stderr.Path)
			}
			if c.Logs.Stdout != nil && c.Logs.Stdout.Path != "" {
				lc.StdoutTail = tail(c.Logs.Stdout.Path)
			}
		}
		for _, a := range c.Artifacts {
			if a.Error != nil || a.Location == "" {
				continue
			}
			switch path.Base(a.Path) {
			case "manifest.json":
				if lc.Manifest == nil || a.Path == "target/manifest.json" {
					lc.Manifest = open(key(a.Location))
				}
			case "run_results.json":
				if lc.RunResults == nil || a.Path == "target/run_results.json" {
					lc.RunResults = open(key(a.Location))
				}
			}
		}
		if lc.Manifest == nil || lc.RunResults == nil {
			lc.Manifest, lc.RunResults = nil, nil
		}
		cmds = append(cmds, lc)
	}
	return run, cmds, nil
}

func parseReportTime(s string) time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
