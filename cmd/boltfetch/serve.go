package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/boltfetch/boltfetch/archive"
	"github.com/boltfetch/boltfetch/client"
	"github.com/boltfetch/boltfetch/fetcher"
	"github.com/boltfetch/boltfetch/inbox"
	"github.com/boltfetch/boltfetch/webhook"
)

// serveOptions is everything `boltfetch serve` was asked: the follow-up's
// own flags (shared with fetch) and the service's.
type serveOptions struct {
	fetch fetchOptions

	Listen          string
	Workers         int
	MaxAttempts     int
	JobTimeout      time.Duration
	ShutdownTimeout time.Duration
	Retention       string
	LogFormat       string

	store storeOptions

	Tokens         []string
	TokenFile      string
	APISecretFile  string
	InsecureNoAuth bool
	TLSCert        string
	TLSKey         string
	UI             bool

	reconcile reconcileFlags // --reconcile-* (reconcile.go)
}

// storeOptions name the inbox: the SQLite data dir, or PostgreSQL. serve and
// inbox share them.
type storeOptions struct {
	DataDir string
	Inbox   string
}

func addStoreFlags(cmd *cobra.Command, o *storeOptions) {
	f := cmd.Flags()
	f.StringVar(&o.DataDir, "data-dir", "./boltfetch-data", "the embedded inbox's folder (SQLite), when --inbox is not set")
	f.StringVar(&o.Inbox, "inbox", "", "a PostgreSQL inbox shared by several replicas, postgres://… (env BOLTFETCH_INBOX)")
}

// inboxConfig resolves the store flags and their environment variable.
func (o *storeOptions) inboxConfig(getenv func(string) string) (inbox.Config, error) {
	dsn := o.Inbox
	if dsn == "" {
		dsn = getenv("BOLTFETCH_INBOX")
	}
	if dsn != "" {
		if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
			return inbox.Config{}, errors.New("--inbox (or BOLTFETCH_INBOX): want a postgres:// URL")
		}
		return inbox.Config{PostgresURL: dsn}, nil
	}
	if strings.TrimSpace(o.DataDir) == "" {
		return inbox.Config{}, errors.New("--data-dir is empty: give the inbox's folder, or --inbox postgres://…")
	}
	return inbox.Config{DataDir: o.DataDir}, nil
}

func newServeCmd(io *iostreams, runF func(*serveOptions) error) *cobra.Command {
	opts := &serveOptions{fetch: fetchOptions{io: io, getenv: io.getenv, Format: "json"}}
	cmd := &cobra.Command{
		Use:   "serve [flags]",
		Short: "Receive Paradime's webhooks and follow up every completed run, durably",
		Long: `Serve receives Paradime's bolt.run.completed webhooks on POST /webhooks/paradime,
acks each once it is committed to a durable inbox (SQLite in --data-dir, or
PostgreSQL with --inbox for several replicas), and follows up every run exactly
as 'boltfetch fetch' does, with --workers at once, retrying transient failures.

It takes every follow-up flag of fetch (--out, the archive, selection, limits,
credentials and OpenLineage flags) with the same defaults and environment
variables, except --timeout, which is 0 (never) here: --job-timeout bounds
each follow-up, and a --timeout shorter than it cancels a follow-up sooner.
It does not take fetch's flags about one report or one run: --format,
--fail-on-dbt-failure, --run-id, --schedule and --workspace (see
--reconcile-* for runs whose webhook never came).
A webhook token is required (--token, --token-file, BOLTFETCH_WEBHOOK_TOKEN or
BOLTFETCH_WEBHOOK_TOKEN_FILE) unless --insecure-no-auth is given.

SIGTERM or SIGINT drains: /readyz fails, new deliveries get 503, running
follow-ups get --shutdown-timeout to finish, then are cancelled and run again
at the next start.`,
		Example: `  BOLTFETCH_WEBHOOK_TOKEN=$(openssl rand -hex 32) boltfetch serve --out /srv/archive
  boltfetch serve --token-file /run/credentials/boltfetch.service/token --inbox postgres://boltfetch@db/boltfetch`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runServe(cmd.Context(), opts)
		},
	}
	addFollowUpFlags(cmd.Flags(), &opts.fetch)
	// --job-timeout is what bounds a follow-up here; fetch's 30m --timeout
	// would silently win over a longer one.
	opts.fetch.Timeout = 0
	tf := cmd.Flags().Lookup("timeout")
	tf.DefValue = "0s"
	tf.Usage = "also give up one follow-up after this long, if shorter than --job-timeout (0: never; --job-timeout bounds it)"
	addStoreFlags(cmd, &opts.store)
	f := cmd.Flags()
	f.StringVar(&opts.Listen, "listen", ":8080", "address to serve HTTP on")
	f.IntVar(&opts.Workers, "workers", inbox.DefaultWorkers, "follow-ups at once (they share one --concurrency request limit)")
	f.IntVar(&opts.MaxAttempts, "max-attempts", inbox.DefaultMaxAttempts, "follow-ups of one run before it is failed for good (transient errors are retried with backoff)")
	f.DurationVar(&opts.JobTimeout, "job-timeout", inbox.DefaultJobTimeout, "cancel a follow-up after this long; a run whose worker died runs again after it")
	f.DurationVar(&opts.ShutdownTimeout, "shutdown-timeout", webhook.DefaultShutdownTimeout, "on SIGTERM, let requests and running follow-ups finish this long, then cancel them (they run again at the next start)")
	f.StringVar(&opts.Retention, "retention", "30d", "keep finished runs this long (duplicates and /runs need them): e.g. 30d, 72h")
	f.StringVar(&opts.LogFormat, "log-format", "text", "stderr log format: text or json")
	f.StringArrayVar(&opts.Tokens, "token", nil, "webhook token, as Authorization: Bearer or ?token= (repeatable, for rotation; env BOLTFETCH_WEBHOOK_TOKEN)")
	f.StringVar(&opts.TokenFile, "token-file", "", "read a webhook token from this file (env BOLTFETCH_WEBHOOK_TOKEN_FILE)")
	f.StringVar(&opts.APISecretFile, "api-secret-file", "", "read the Paradime API secret from this file (env PARADIME_API_SECRET_FILE)")
	f.BoolVar(&opts.InsecureNoAuth, "insecure-no-auth", false, "accept deliveries without a token (anyone who can reach the port can post runs)")
	f.StringVar(&opts.TLSCert, "tls-cert", "", "serve TLS with this PEM certificate (with --tls-key); usually a reverse proxy ends TLS instead")
	f.StringVar(&opts.TLSKey, "tls-key", "", "the PEM key of --tls-cert")
	f.BoolVar(&opts.UI, "ui", false, "serve River's job UI under /ui/, behind HTTP Basic auth (user boltfetch, password a webhook token)")
	addReconcileFlags(f, &opts.reconcile)
	return cmd
}

// serveConfig is serveOptions checked and converted.
type serveConfig struct {
	fetch     fetchConfig
	inbox     inbox.Config
	webhook   webhook.Config
	logger    *slog.Logger
	retention time.Duration
}

// config checks every flag before anything starts (exit 2 on a bad one).
func (opts *serveOptions) config() (serveConfig, error) {
	var sc serveConfig
	getenv := opts.fetch.getenv
	if opts.APISecretFile == "" {
		opts.APISecretFile = getenv("PARADIME_API_SECRET_FILE")
	}
	if opts.APISecretFile != "" && opts.fetch.APISecret == "" {
		s, err := webhook.ReadSecretFile(opts.APISecretFile)
		if err != nil {
			return sc, fmt.Errorf("--api-secret-file: %w", err)
		}
		opts.fetch.APISecret = s
	}
	fc, err := opts.fetch.config()
	if err != nil {
		return sc, err
	}
	sc.fetch = fc
	if sc.retention, err = parseRetention(opts.Retention); err != nil {
		return sc, err
	}
	if err := opts.reconcile.check(fc.client.Endpoint, sc.retention); err != nil {
		return sc, err
	}
	switch opts.LogFormat {
	case "text", "json":
	default:
		return sc, fmt.Errorf("--log-format %q: want text or json", opts.LogFormat)
	}
	if opts.ShutdownTimeout <= 0 || opts.ShutdownTimeout > time.Hour {
		return sc, fmt.Errorf("--shutdown-timeout %s: want a positive duration up to 1h", opts.ShutdownTimeout)
	}
	if opts.Workers < 1 || opts.Workers > inbox.MaxWorkers {
		return sc, fmt.Errorf("--workers %d: want 1 to %d", opts.Workers, inbox.MaxWorkers)
	}
	if opts.MaxAttempts < 1 || opts.MaxAttempts > inbox.MaxMaxAttempts {
		return sc, fmt.Errorf("--max-attempts %d: want 1 to %d", opts.MaxAttempts, inbox.MaxMaxAttempts)
	}
	if opts.JobTimeout < inbox.MinJobTimeout || opts.JobTimeout > inbox.MaxJobTimeout {
		return sc, fmt.Errorf("--job-timeout %s: want %s to %s", opts.JobTimeout, inbox.MinJobTimeout, inbox.MaxJobTimeout)
	}
	if sc.inbox, err = opts.store.inboxConfig(getenv); err != nil {
		return sc, err
	}
	sc.inbox.Workers, sc.inbox.MaxAttempts, sc.inbox.JobTimeout, sc.inbox.Retention = opts.Workers, opts.MaxAttempts, opts.JobTimeout, sc.retention

	tokens := append([]string(nil), opts.Tokens...)
	if len(tokens) == 0 {
		if t := getenv("BOLTFETCH_WEBHOOK_TOKEN"); t != "" {
			tokens = append(tokens, t)
		}
	}
	tokenFile := opts.TokenFile
	if tokenFile == "" {
		tokenFile = getenv("BOLTFETCH_WEBHOOK_TOKEN_FILE")
	}
	if tokenFile != "" {
		t, err := webhook.ReadSecretFile(tokenFile)
		if err != nil {
			return sc, fmt.Errorf("--token-file: %w", err)
		}
		tokens = append(tokens, t)
	}
	if len(tokens) == 0 && !opts.InsecureNoAuth {
		return sc, errors.New("no webhook token: give --token, --token-file, BOLTFETCH_WEBHOOK_TOKEN or BOLTFETCH_WEBHOOK_TOKEN_FILE (e.g. openssl rand -hex 32), or --insecure-no-auth")
	}
	if len(tokens) > 0 && opts.InsecureNoAuth {
		return sc, errors.New("--insecure-no-auth with a webhook token: choose one")
	}
	if opts.UI && opts.InsecureNoAuth {
		return sc, errors.New("--ui needs a webhook token (the UI can cancel and delete jobs): drop --insecure-no-auth")
	}
	sc.webhook = webhook.Config{
		Tokens: tokens, InsecureNoAuth: opts.InsecureNoAuth,
		MaxPayloadSize: fc.maxPayload, ShutdownTimeout: opts.ShutdownTimeout,
		TLSCertFile: opts.TLSCert, TLSKeyFile: opts.TLSKey,
	}
	hopts := &slog.HandlerOptions{Level: fc.level}
	if opts.LogFormat == "json" {
		sc.logger = slog.New(slog.NewJSONHandler(opts.fetch.io.Err, hopts))
	} else {
		sc.logger = slog.New(slog.NewTextHandler(opts.fetch.io.Err, hopts))
	}
	return sc, nil
}

// maxRetention bounds --retention: ten years.
const maxRetention = 3650 * 24 * time.Hour

// parseRetention reads "30d" (days) or a Go duration ("72h").
func parseRetention(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	var d time.Duration
	if n, ok := strings.CutSuffix(t, "d"); ok {
		days, err := strconv.ParseFloat(n, 64)
		if err != nil || !(days > 0 && days <= 3650) { // NaN fails too
			return 0, fmt.Errorf("--retention %q: want days (e.g. 30d) or a duration (e.g. 72h)", s)
		}
		d = time.Duration(days * float64(24*time.Hour))
	} else {
		var err error
		if d, err = time.ParseDuration(t); err != nil {
			return 0, fmt.Errorf("--retention %q: want days (e.g. 30d) or a duration (e.g. 72h)", s)
		}
	}
	if d < inbox.MinRetention || d > maxRetention {
		return 0, fmt.Errorf("--retention %q: want %s to 3650d", s, inbox.MinRetention)
	}
	return d, nil
}

// companyTokenPrefix marks a Paradime company token, which names its
// workspace in a header on every call.
const companyTokenPrefix = "prdm_cmp_"

// runServe wires the intake, the inbox and the follow-up path, and serves
// until ctx ends (SIGTERM, SIGINT).
func runServe(ctx context.Context, opts *serveOptions) error {
	sc, err := opts.config()
	if err != nil {
		return withCode(exitBadInput, err)
	}
	// The archive (a folder or a bucket) is checked now, before the first
	// delivery is accepted.
	store, err := openOut(ctx, opts.fetch.Out, sc.logger)
	if err != nil {
		return err
	}
	defer store.Close()
	if sc.inbox.DataDir != "" {
		if err := os.MkdirAll(sc.inbox.DataDir, 0o700); err != nil {
			return withCode(exitBadInput, fmt.Errorf("--data-dir %s: %w", sc.inbox.DataDir, err))
		}
	}
	log := sc.logger
	metrics, err := webhook.NewMetrics(nil)
	if err != nil {
		return err
	}
	w, err := newServeWorker(opts, sc, store, metrics)
	if err != nil {
		return withCode(exitBadInput, err)
	}
	// The credentials are checked now, not at the first delivery (with a
	// company token, against the configured workspace or a placeholder).
	probe := sc.fetch.client
	if strings.HasPrefix(probe.APISecret, companyTokenPrefix) && probe.WorkspaceUID == "" {
		probe.WorkspaceUID = "from-each-payload"
	}
	if _, err := client.New(probe); err != nil {
		return withCode(exitBadInput, word(err))
	}

	icfg := sc.inbox
	icfg.FollowUp, icfg.Logger = w.followUp, log
	var reconcileInbox *inbox.Inbox
	if err := opts.reconcile.addTo(&icfg, sc.fetch.client, w.fopts.Limiter, &reconcileInbox, metrics, log); err != nil {
		return withCode(exitBadInput, err)
	}
	ib, err := inbox.Open(ctx, icfg)
	if err != nil {
		return withCode(exitBadInput, wordInbox(err))
	}
	defer ib.Close()
	reconcileInbox = ib

	wcfg := sc.webhook
	if opts.UI {
		if wcfg.UI, err = ib.UI("/ui", log); err != nil {
			return err
		}
	}
	wcfg.Queue, wcfg.Parse, wcfg.Metrics, wcfg.Logger = ib, parseFunc(sc.fetch.maxPayload), metrics, log
	h, err := webhook.New(wcfg)
	if err != nil {
		return withCode(exitBadInput, err)
	}
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return withCode(exitBadInput, fmt.Errorf("--listen %s: %w", opts.Listen, err))
	}
	if err := ib.Start(ctx); err != nil {
		ln.Close()
		return withCode(exitBadInput, wordInbox(err))
	}
	where := "data dir " + sc.inbox.DataDir
	if sc.inbox.PostgresURL != "" {
		where = "PostgreSQL"
	}
	log.Info("boltfetch serve: listening", "addr", ln.Addr().String(), "tls", h.TLS(), "inbox", where, "workers", opts.Workers, "archive", store.Location())

	serveErr := h.Serve(ctx, ln) // returns once ctx ended and HTTP drained
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opts.ShutdownTimeout)
	defer cancel()
	if err := ib.Stop(sctx); err != nil {
		log.Warn("boltfetch serve: follow-ups were cancelled at the shutdown timeout; they run again at the next start", "error", err)
	}
	if serveErr != nil {
		return fmt.Errorf("serve: %w", serveErr)
	}
	log.Info("boltfetch serve: stopped")
	return nil
}

// wordInbox words the inbox's errors for this CLI.
func wordInbox(err error) error {
	var ce *inbox.ConfigError
	switch {
	case errors.Is(err, inbox.ErrLocked):
		return fmt.Errorf("%w: another boltfetch serve uses this --data-dir (use --inbox postgres://… for several replicas)", err)
	case errors.As(err, &ce):
		return fmt.Errorf("%w (see --workers, --max-attempts, --job-timeout, --retention, --inbox)", err)
	}
	return err
}

// parseFunc tells a delivery's run id and event with the fetcher's own
// payload decoder (the one fetch uses), so that the intake refuses what a
// follow-up could not use.
func parseFunc(limit int64) webhook.ParseFunc {
	return func(body []byte) (int64, bool, error) {
		p, err := fetcher.DecodePayload(bytes.NewReader(body), limit)
		if err != nil {
			return 0, false, err
		}
		id, err := strconv.ParseInt(p.RunID, 10, 64)
		if err != nil || id <= 0 {
			return 0, false, errors.New("payload: the run id is not a positive integer")
		}
		return id, p.Started, nil
	}
}

// serveWorker follows up one run from the inbox through the same path as
// fetch (followUpRun), and tells the inbox what became of it.
type serveWorker struct {
	store      archive.Store
	ccfg       client.Config
	fopts      fetcher.Options
	timeout    time.Duration
	maxPayload int64
	log        *slog.Logger
	metrics    *webhook.Metrics
}

// newServeWorker wires the follow-up of every run from the checked flags.
func newServeWorker(opts *serveOptions, sc serveConfig, store archive.Store, metrics *webhook.Metrics) (*serveWorker, error) {
	fopts, err := opts.fetch.fetcherOptions(sc.fetch)
	if err != nil {
		return nil, err
	}
	// One request limit across every worker's follow-up, not one each.
	fopts.Limiter = fetcher.NewLimiter(opts.fetch.Concurrency)
	// One OpenLineage exporter for every follow-up (its sinks are safe for
	// concurrent runs: the file sink appends each run as one locked block).
	if fopts.Lineage, err = opts.fetch.Lineage.exporter(opts.fetch.getenv, sc.logger); err != nil {
		return nil, err
	}
	return &serveWorker{
		store: store, ccfg: sc.fetch.client, fopts: fopts, timeout: opts.fetch.Timeout,
		maxPayload: sc.fetch.maxPayload, log: sc.logger, metrics: metrics,
	}, nil
}

func (w *serveWorker) followUp(ctx context.Context, runID int64, payload []byte) (inbox.Outcome, error) {
	start := time.Now()
	log := w.log.With("run_id", runID)
	ccfg := w.ccfg
	if strings.HasPrefix(ccfg.APISecret, companyTokenPrefix) {
		// One receiver serves every workspace of a company: each run is
		// followed up in its own workspace.
		p, err := fetcher.DecodePayload(bytes.NewReader(payload), w.maxPayload)
		if err != nil {
			w.metrics.ObserveFollowUp(time.Since(start), webhook.ResultFailed)
			return inbox.Outcome{}, inbox.Permanent(err)
		}
		if p.Workspace.UID != "" {
			ccfg.WorkspaceUID = p.Workspace.UID
		}
	}
	if w.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, w.timeout)
		defer cancel()
	}
	rep, err := followUpRun(ctx, payload, w.store, ccfg, w.fopts, log)
	if err != nil {
		w.metrics.ObserveFollowUp(time.Since(start), webhook.ResultFailed)
		log.Error("follow-up refused: unusable input", "error", err)
		// Unusable input or configuration: the same answer every time.
		return inbox.Outcome{}, inbox.Permanent(err)
	}
	out := inbox.Outcome{
		Complete:  rep.Summary.Complete,
		Retryable: rep.Retryable(),
		// Location is a folder or, with object storage, a URL.
		Report: strings.TrimSuffix(rep.Archive.Location, "/") + "/" + rep.Archive.Folder + "/report.json",
	}
	stages := map[string]int{}
	for _, e := range rep.Errors {
		out.Errors = append(out.Errors, fmt.Sprintf("%s/%s: %s", e.Stage, e.Kind, e.Message))
		stages[e.Stage]++
	}
	for s, n := range stages {
		w.metrics.AddItemErrors(s, n)
	}
	result := webhook.ResultDone
	switch {
	case out.Complete:
		log.Info("follow-up complete", "report", out.Report, "duration", time.Since(start))
	case out.Retryable:
		result = webhook.ResultRetry
		log.Warn("follow-up incomplete; retrying", "errors", len(out.Errors), "report", out.Report)
	default:
		result = webhook.ResultFailed
		log.Warn("follow-up incomplete; its errors are permanent", "errors", len(out.Errors), "report", out.Report)
	}
	w.metrics.ObserveFollowUp(time.Since(start), result)
	return out, nil
}
