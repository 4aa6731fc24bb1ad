package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/boltfetch/boltfetch/archive"
	"github.com/boltfetch/boltfetch/archive/blobstore"
	"github.com/boltfetch/boltfetch/artifacts"
	"github.com/boltfetch/boltfetch/client"
	"github.com/boltfetch/boltfetch/fetcher"
	"github.com/boltfetch/boltfetch/internal/progress"
)

// fetchOptions is everything `boltfetch fetch` was asked, before any work.
type fetchOptions struct {
	io     *iostreams
	getenv func(string) string

	Payload         string // a file, or "-" for stdin
	Out             string
	Format          string
	Concurrency     int
	Artifacts       []string
	Logs            string
	AllowHosts      []string
	Timeout         time.Duration
	MaxArtifactSize string
	MaxPayloadSize  string
	MaxNodeSize     string
	LogLevel        string

	RequestTimeout  time.Duration
	MaxResponseSize string
	Retries         int

	APIEndpoint        string
	APIKey             string
	APISecret          string
	WorkspaceUID       string
	FallbackTypedQuery bool
	FailOnDBTFailure   bool
	Lineage            lineageFlags

	archiveFlags
	pull pullFlags // --run-id and its names (pull.go)
}

func newFetchCmd(io *iostreams, runF func(*fetchOptions) error) *cobra.Command {
	opts := &fetchOptions{io: io, getenv: io.getenv}
	cmd := &cobra.Command{
		Use:   "fetch [flags] PAYLOAD|-",
		Short: "Follow up a Bolt webhook payload: fetch, archive and analyse the run",
		Long: `Fetch reads a bolt.run.completed webhook payload (a file, or - for stdin),
runs its GraphQL queries against the payload's api_url (which must be an allowed
host), downloads the selected artifacts, archives everything under
<out>/<workspace>/<schedule>/<run id>/ and prints a report of what failed in dbt
and why.

Credentials come from the flags or from Paradime's SDK environment variables
PARADIME_API_ENDPOINT, PARADIME_API_KEY, PARADIME_API_SECRET and
PARADIME_WORKSPACE_UID; flags win.

With --run-id N (and no payload) the run's payload is built from the API at
--api-endpoint instead; --schedule and --workspace name its archive folder.

The follow-up flags (all but --format, --fail-on-dbt-failure, --run-id,
--schedule and --workspace) are the same on serve and backfill, with the same
defaults and environment variables, except serve's --timeout: 0 there, since
its --job-timeout bounds each follow-up.

Exit codes: 0 everything was fetched (whatever dbt's outcome); 1 some follow-up
failed (the report says which); 2 unusable input or configuration, including an
api_url host that is not allowed; 3 (only with --fail-on-dbt-failure) everything
was fetched and dbt itself failed: a command failed or a node failed. 1 and 2
take precedence over 3.

SIGINT, SIGTERM and SIGHUP (a dropped ssh session) end the follow-up cleanly:
no temp file is left, and the report of what was done is written (exit 1).`,
		Example: `  boltfetch fetch payload.json
  curl -s ... | boltfetch fetch --format json - > report.json
  boltfetch fetch --artifacts '*' --logs failed --allow-host api.eu.example.com payload.json`,
		Args: fetchArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("run-id") {
				return runFetchRunID(cmd.Context(), opts, runF)
			}
			opts.Payload = args[0]
			if runF != nil {
				return runF(opts)
			}
			return runFetch(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	addFollowUpFlags(f, opts)
	addPullFlags(f, &opts.pull)
	f.StringVar(&opts.Format, "format", "text", "report format on stdout: text, json or markdown")
	f.BoolVar(&opts.FailOnDBTFailure, "fail-on-dbt-failure", false, "exit 3 when the follow-up is complete but dbt itself failed (a failed command or node); for CI")
	return cmd
}

// addFollowUpFlags registers the flags of the follow-up itself (archive,
// selection, limits, credentials, OpenLineage): fetch, serve and backfill
// share them, with the same defaults and environment variables. The flags
// of one command's output (--format, --fail-on-dbt-failure, --run-id…) are
// registered by that command.
func addFollowUpFlags(f *pflag.FlagSet, opts *fetchOptions) {
	f.StringVar(&opts.Out, "out", "./boltfetch-archive", "archive folder, or bucket URL: s3://bucket/prefix?region=…, gs://bucket/prefix, azblob://container/prefix, file:///path")
	opts.archiveFlags.register(f)
	f.IntVar(&opts.Concurrency, "concurrency", fetcher.DefaultConcurrency, "API calls and downloads in flight at once")
	f.StringSliceVar(&opts.Artifacts, "artifacts", fetcher.DefaultArtifacts, "globs over resource paths to download ('*' for all)")
	f.StringVar(&opts.Logs, "logs", string(fetcher.LogsAll), "commands whose stdout/stderr are fetched: all, failed or none")
	f.StringArrayVar(&opts.AllowHosts, "allow-host", nil, "also allow a payload's api_url on this host or *.suffix pattern (repeatable; *.paradime.io is always allowed)")
	f.DurationVar(&opts.Timeout, "timeout", 30*time.Minute, "give up the whole follow-up after this long (0: never)")
	f.StringVar(&opts.MaxArtifactSize, "max-artifact-size", "2GiB", "refuse an artifact larger than this (bytes, or with KB/MB/GB/KiB/MiB/GiB)")
	f.StringVar(&opts.MaxPayloadSize, "max-payload-size", "16MiB", "refuse a payload larger than this")
	f.StringVar(&opts.MaxNodeSize, "max-node-size", "16MiB", "analysis: hold at most this much of one manifest node; a larger node is skipped with a warning")
	f.StringVar(&opts.LogLevel, "log-level", "info", "stderr log level: debug, info, warn or error")
	f.DurationVar(&opts.RequestTimeout, "request-timeout", client.DefaultRequestTimeout, "give up one Paradime API attempt after this long (body included)")
	f.StringVar(&opts.MaxResponseSize, "max-response-size", "64MiB", "refuse a Paradime API answer larger than this (stdout is inside it)")
	f.IntVar(&opts.Retries, "retries", client.DefaultMaxRetries, "retries of a Paradime API call after its first attempt (408, 429, 500, 502-504, resets, timeouts)")
	f.StringVar(&opts.APIEndpoint, "api-endpoint", "", "Paradime GraphQL endpoint (env PARADIME_API_ENDPOINT); its host is allowed")
	f.StringVar(&opts.APIKey, "api-key", "", "Paradime API key (env PARADIME_API_KEY)")
	f.StringVar(&opts.APISecret, "api-secret", "", "Paradime API secret or prdm_wsp_/prdm_cmp_ token (env PARADIME_API_SECRET)")
	f.StringVar(&opts.WorkspaceUID, "workspace-uid", "", "workspace for a company token (env PARADIME_WORKSPACE_UID)")
	f.BoolVar(&opts.FallbackTypedQuery, "fallback-typed-query", false, "when a payload's query is refused by the guard, send the equivalent typed query for the same id instead")
	opts.Lineage.add(f)
}

// runFetch does the work of `boltfetch fetch`.
func runFetch(ctx context.Context, opts *fetchOptions) error {
	cfg, err := opts.config()
	if err != nil {
		return withCode(exitBadInput, err)
	}
	raw, err := readPayload(opts, cfg.maxPayload)
	if err != nil {
		return withCode(exitBadInput, err)
	}
	ctx, o, done, err := opts.open(ctx, cfg)
	if err != nil {
		return err
	}
	defer done()
	return o.followUp(ctx, raw, cfg.client, opts.Format, opts.FailOnDBTFailure)
}

// open applies --timeout to ctx and opens the archive and the exporter
// from the checked flags, so that an unusable one is found before the
// first request: what a payload file and --run-id share. done closes
// them and ends the timeout.
func (opts *fetchOptions) open(ctx context.Context, cfg fetchConfig) (_ context.Context, o *followUpOut, done func(), err error) {
	cancel := context.CancelFunc(func() {})
	if opts.Timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, opts.Timeout)
	}
	defer func() {
		if err != nil {
			cancel()
		}
	}()
	fopts, err := opts.fetcherOptions(cfg)
	if err != nil {
		return nil, nil, nil, withCode(exitBadInput, err)
	}
	if o, err = openFollowUp(ctx, opts.io, opts.Out, cfg.level, fopts, &opts.Lineage, opts.getenv); err != nil {
		return nil, nil, nil, err
	}
	return ctx, o, func() { o.Close(); cancel() }, nil
}

// fetcherOptions are the fetcher's options from the checked flags.
func (opts *fetchOptions) fetcherOptions(cfg fetchConfig) (fetcher.Options, error) {
	fopts := fetcher.Options{
		Concurrency: opts.Concurrency, Artifacts: opts.Artifacts, Logs: fetcher.LogsMode(opts.Logs),
		MaxArtifactSize: cfg.maxArtifact, MaxPayloadSize: cfg.maxPayload,
		Analyzer: fetcher.NewAnalyzer(artifacts.Options{MaxNodeBytes: cfg.maxNode}),
	}
	if err := opts.archiveFlags.apply(&fopts); err != nil {
		return fopts, err
	}
	return fopts, nil
}

// followUpOut is where one CLI follow-up writes: the archive that --out
// names, the OpenLineage exporter, the logger and, on a TTY, the progress
// bars. openFollowUp opens it before any request to Paradime, so that an
// unusable configuration exits 2 having sent nothing.
type followUpOut struct {
	io     *iostreams
	bars   *progress.Bars
	logger *slog.Logger
	store  blobstore.ClosableStore
	fopts  fetcher.Options
}

// openFollowUp opens the archive at out and builds the exporter lf asks
// for, with logs (and progress bars, on a TTY) on stderr. fetch, demo and
// fetch --run-id call it before their first request; Close releases it.
func openFollowUp(ctx context.Context, io *iostreams, out string, level slog.Level, fopts fetcher.Options, lf *lineageFlags, getenv func(string) string) (*followUpOut, error) {
	o := &followUpOut{io: io}
	logOut := io.Err
	if io.ErrTTY {
		o.bars = progress.New(io.Err)
		logOut = o.bars.Writer()
		fopts.Progress = o.bars
	}
	o.logger = slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: level}))
	store, err := openOut(ctx, out, o.logger)
	if err != nil {
		o.Close()
		return nil, err
	}
	o.store = store
	if fopts.Lineage, err = lf.exporter(getenv, o.logger); err != nil {
		o.Close()
		return nil, withCode(exitBadInput, err)
	}
	o.fopts = fopts
	return o, nil
}

// Close removes the bars and closes the archive. Calls after the first do
// nothing.
func (o *followUpOut) Close() {
	if o.bars != nil {
		o.bars.Close()
	}
	if o.store != nil {
		o.store.Close()
		o.store = nil
	}
}

// followUp is what fetch, demo and fetch --run-id share once o is open: it
// follows up payload into o's archive and prints the report in format on
// stdout. With failOnDBT, a complete follow-up of a run in which dbt
// failed exits 3.
func (o *followUpOut) followUp(ctx context.Context, payload []byte, ccfg client.Config, format string, failOnDBT bool) error {
	rep, err := followUpRun(ctx, payload, o.store, ccfg, o.fopts, o.logger)
	if o.bars != nil {
		o.bars.Close() // the bars must be gone before the report is printed
	}
	if err != nil {
		return withCode(exitBadInput, err)
	}
	return finish(o.io.Out, format, rep, failOnDBT)
}

// followUpRun is the one follow-up path, which fetch (a payload or
// --run-id), demo, serve and backfill share: the client for ccfg, then the
// fetcher on payload into store. Its errors are unusable input or
// configuration (fetcher.ErrBadInput, client config), worded for the CLI;
// the failures of single items are in the report.
func followUpRun(ctx context.Context, payload []byte, store archive.Store, ccfg client.Config, fopts fetcher.Options, logger *slog.Logger) (*fetcher.Report, error) {
	ccfg.Logger = logger
	c, err := client.New(ccfg)
	if err != nil {
		return nil, word(err)
	}
	fopts.Client, fopts.Archive, fopts.Logger = c, store, logger
	rep, err := fetcher.Fetch(ctx, bytes.NewReader(payload), fopts)
	if err != nil {
		return nil, word(err)
	}
	return rep, nil
}

// checkWritable proves that a file can be created in dir, and removes it.
func checkWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".boltfetch-probe-*")
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return pe.Err // the path is dir's, already named
		}
		return err
	}
	name := f.Name()
	err = f.Close()
	if rerr := os.Remove(name); err == nil {
		err = rerr
	}
	return err
}

// finish prints the report and turns it into the exit code: 1 when the
// follow-up is incomplete; else, with failOnDBT, 3 when dbt itself failed.
func finish(out io.Writer, format string, rep *fetcher.Report, failOnDBT bool) error {
	if err := writeReport(out, format, rep); err != nil {
		return withCode(exitPartial, fmt.Errorf("write the report: %w", err))
	}
	if !rep.Summary.Complete || len(rep.Errors) > 0 {
		n := fmt.Sprintf("%d follow-up errors", len(rep.Errors))
		if len(rep.Errors) == 1 {
			n = "1 follow-up error"
		}
		where := "listed in the report above; report.json could not be written to the archive"
		if key, ok := rep.ReportKey(); ok {
			where = fmt.Sprintf("listed in the report, %s/%s", rep.Archive.Location, key)
		}
		return withCode(exitPartial, fmt.Errorf("%s (%s)", n, where))
	}
	if failOnDBT && dbtFailed(rep) {
		return withCode(exitDBTFailed, fmt.Errorf("dbt failed: %d command(s) and %d node(s) failed (--fail-on-dbt-failure)", rep.Summary.CommandsFailed, rep.Summary.NodesFailed))
	}
	return nil
}

// dbtFailed reports whether dbt itself failed in the run: a command failed
// or an analysed node failed.
func dbtFailed(rep *fetcher.Report) bool {
	return rep.Summary.CommandsFailed > 0 || rep.Summary.NodesFailed > 0
}

func writeReport(w io.Writer, format string, rep *fetcher.Report) error {
	switch format {
	case "json":
		return rep.WriteJSON(w)
	case "markdown":
		return rep.WriteMarkdown(w)
	default:
		return rep.WriteText(w)
	}
}

// fetchConfig is fetchOptions checked and converted.
type fetchConfig struct {
	client      client.Config
	level       slog.Level
	maxArtifact int64
	maxPayload  int64
	maxNode     int64
}

// config checks every flag before any work, so bad input fails fast with
// exit code 2.
func (opts *fetchOptions) config() (fetchConfig, error) {
	var fc fetchConfig
	switch opts.Format {
	case "text", "json", "markdown":
	default:
		return fc, fmt.Errorf("--format %q: want text, json or markdown", opts.Format)
	}
	switch fetcher.LogsMode(opts.Logs) {
	case fetcher.LogsAll, fetcher.LogsFailed, fetcher.LogsNone:
	default:
		return fc, fmt.Errorf("--logs %q: want all, failed or none", opts.Logs)
	}
	if strings.TrimSpace(opts.Out) == "" {
		return fc, errors.New("--out is empty: give the archive folder")
	}
	if opts.Timeout < 0 {
		return fc, fmt.Errorf("--timeout %s: want 0 (never) or a positive duration", opts.Timeout)
	}
	if len(opts.Artifacts) == 0 {
		return fc, errors.New("--artifacts is empty: give at least one glob ('*' for all)")
	}
	for _, g := range opts.Artifacts {
		if strings.TrimSpace(g) == "" {
			return fc, fmt.Errorf("--artifacts %q: an empty glob", strings.Join(opts.Artifacts, ","))
		}
	}
	for _, h := range opts.AllowHosts {
		if strings.TrimSpace(h) == "" {
			return fc, errors.New("--allow-host: an empty host")
		}
	}
	if opts.Concurrency < 1 || opts.Concurrency > 1024 {
		return fc, fmt.Errorf("--concurrency %d: want 1 to 1024", opts.Concurrency)
	}
	if err := fc.level.UnmarshalText([]byte(opts.LogLevel)); err != nil {
		return fc, fmt.Errorf("--log-level %q: want debug, info, warn or error", opts.LogLevel)
	}
	var err error
	if fc.maxArtifact, err = parseSize(opts.MaxArtifactSize); err != nil {
		return fc, fmt.Errorf("--max-artifact-size: %w", err)
	}
	if fc.maxPayload, err = parseSize(opts.MaxPayloadSize); err != nil {
		return fc, fmt.Errorf("--max-payload-size: %w", err)
	}
	if fc.maxNode, err = parseSize(opts.MaxNodeSize); err != nil {
		return fc, fmt.Errorf("--max-node-size: %w", err)
	}
	getenv := opts.getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	cfg := client.ConfigFromEnv(getenv)
	for _, f := range []struct{ flag, dst *string }{
		{&opts.APIEndpoint, &cfg.Endpoint}, {&opts.APIKey, &cfg.APIKey},
		{&opts.APISecret, &cfg.APISecret}, {&opts.WorkspaceUID, &cfg.WorkspaceUID},
	} {
		if *f.flag != "" {
			*f.dst = *f.flag
		}
	}
	cfg.AllowHosts = opts.AllowHosts
	cfg.FallbackTypedQuery = opts.FallbackTypedQuery
	if opts.RequestTimeout <= 0 {
		return fc, fmt.Errorf("--request-timeout %s: want a positive duration", opts.RequestTimeout)
	}
	cfg.RequestTimeout = opts.RequestTimeout
	if cfg.MaxBodyBytes, err = parseSize(opts.MaxResponseSize); err != nil {
		return fc, fmt.Errorf("--max-response-size: %w", err)
	}
	switch {
	case opts.Retries < 0 || opts.Retries > 20:
		return fc, fmt.Errorf("--retries %d: want 0 to 20", opts.Retries)
	case opts.Retries == 0:
		cfg.MaxRetries = -1 // the client's "none"
	default:
		cfg.MaxRetries = opts.Retries
	}
	fc.client = cfg
	return fc, nil
}

// readPayload reads the payload file or stdin, capped at limit bytes.
func readPayload(opts *fetchOptions, limit int64) ([]byte, error) {
	var r io.Reader = opts.io.In
	name := "stdin"
	if opts.Payload != "-" {
		f, err := os.Open(opts.Payload)
		if err != nil {
			return nil, fmt.Errorf("payload: %w", err)
		}
		defer f.Close()
		r, name = f, opts.Payload
	}
	raw, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("payload %s: %w", name, err)
	}
	if int64(len(raw)) > limit {
		return nil, fmt.Errorf("payload %s: larger than %d bytes (see --max-payload-size)", name, limit)
	}
	return raw, nil
}

// sizeUnits are the units parseSize takes, matched case-insensitively.
var sizeUnits = map[string]float64{
	"": 1, "b": 1,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}

// maxSize bounds every size flag: 4 EiB, far above any real limit and far
// below int64 overflow.
const maxSize = 1 << 62

// parseSize reads a size such as "2GiB", "500MB", "1.5 KiB" or "1048576":
// a plain decimal number (no sign, exponent, NaN or Inf) and an optional
// unit (B, KB/MB/GB/TB, KiB/MiB/GiB/TiB, in any case). The result is a
// whole number of bytes from 1 to 4 EiB.
func parseSize(s string) (int64, error) {
	bad := func(why string) (int64, error) {
		return 0, fmt.Errorf("%q is not a positive size (%s; e.g. 2GiB, 500MB, 1048576)", s, why)
	}
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		i = len(t)
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	intPart, frac, hasDot := strings.Cut(num, ".")
	if intPart == "" || strings.Contains(frac, ".") || (hasDot && frac == "") || len(num) > 40 {
		return bad("not a plain decimal number")
	}
	mult, ok := sizeUnits[unit]
	if !ok && len(unit) > 1 && unit[0] == 'e' && (unit[1] >= '0' && unit[1] <= '9' || unit[1] == '+' || unit[1] == '-') {
		return bad("exponents are not allowed")
	}
	if !ok {
		return bad("unknown unit; want B, KB, MB, GB, TB, KiB, MiB, GiB or TiB")
	}
	if !hasDot {
		// Whole numbers are exact, past float64's 2^53 too.
		u, err := strconv.ParseUint(intPart, 10, 64)
		switch {
		case err != nil || u > maxSize/uint64(mult):
			return bad("too large")
		case u == 0:
			return bad("zero")
		}
		return int64(u * uint64(mult)), nil
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return bad("not a plain decimal number")
	}
	v := n * mult
	switch {
	case v == 0:
		return bad("zero")
	case v > maxSize:
		return bad("too large")
	case v != math.Trunc(v):
		return bad("not a whole number of bytes")
	}
	return int64(v), nil
}
