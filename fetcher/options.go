package fetcher

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/boltfetch/boltfetch/archive"
	"github.com/boltfetch/boltfetch/artifacts"
	"github.com/boltfetch/boltfetch/client"
)

// Defaults for Options.
const (
	DefaultConcurrency      = 8
	DefaultMaxArtifactSize  = 2 << 30
	DefaultDownloadAttempts = 8
	DefaultIdleTimeout      = 60 * time.Second
	// MaxURLRefreshes is how many times an expired presigned URL is asked
	// for again (boltResourceUrl) before the artifact is reported failed.
	MaxURLRefreshes = 2
)

// DefaultArtifacts selects what a dbt team needs for the analysis.
var DefaultArtifacts = []string{"target/manifest.json", "target/run_results.json"}

// LogsMode selects the commands whose stdout and stderr are fetched.
type LogsMode string

// The accepted LogsMode values.
const (
	LogsAll    LogsMode = "all"
	LogsFailed LogsMode = "failed"
	LogsNone   LogsMode = "none"
)

// Options configures Fetch. Client and Archive are required; every other
// field has a useful zero value.
type Options struct {
	// Client talks to Paradime. Fetch binds it to the payload's api_url with
	// WithEndpoint, so a host outside the client's allow-list refuses the
	// whole payload before any request.
	Client *client.Client
	// Archive receives everything; the run's folder inside it is RunFolder
	// of the payload unless Folder is set.
	Archive archive.Store
	Folder  string
	// Concurrency bounds the API calls and downloads in flight (default 8).
	Concurrency int
	// Limiter, when set, also bounds them across every follow-up that
	// shares it (see Limiter); Concurrency still bounds this one.
	Limiter Limiter
	// Artifacts are globs over resource paths (default DefaultArtifacts).
	// A glob without "/" matches the file name anywhere; "*" alone takes
	// every artifact.
	Artifacts []string
	// Logs selects the commands whose logs are fetched (default LogsAll).
	Logs LogsMode
	// MaxArtifactSize caps one artifact (default 2 GiB).
	MaxArtifactSize int64
	// MaxPayloadSize caps the payload Fetch reads (default 16 MiB).
	MaxPayloadSize int64
	// HTTPClient downloads artifacts (default NewDownloadClient()). It must
	// not add credentials: presigned URLs need none.
	HTTPClient *http.Client
	// DownloadAttempts is the number of tries per presigned URL on
	// truncation, resets and 5xx (default 8).
	DownloadAttempts int
	// IdleTimeout aborts a download attempt that receives nothing for that
	// long (default 60s).
	IdleTimeout time.Duration
	// Analyzer analyses each command that has a manifest and a run_results
	// (default: the artifacts package). Set it to skip or replace analysis.
	Analyzer Analyzer
	// Logger receives progress and retry lines (default: discard). URLs are
	// logged without their query string, the api_url by its host only.
	Logger *slog.Logger
	// Progress receives per-item progress, for bars on a terminal.
	Progress Progress

	// api replaces Client in unit tests.
	api bolt
	// loopbackHTTP allows plain http artifact URLs to loopback when api
	// replaces Client (with Client, Fetch decides from the bound API host).
	loopbackHTTP bool
	// backoff replaces the download backoff in tests.
	backoff func(int) time.Duration
}

// Analyzer analyses a manifest.json and run_results.json pair. Fetch may
// call it while both files are still downloading, with readers that follow
// the downloads: it must read the two concurrently (as artifacts.Analyze
// does), or a download may wait on it for up to 20s before Fetch gives up
// streaming and calls it again on the archived files. It must not keep the
// readers after it returns.
type Analyzer func(ctx context.Context, manifest, runResults io.Reader) (*artifacts.Analysis, error)

// Progress receives per-item progress. Implementations must be safe for
// concurrent use.
type Progress interface {
	// Task starts tracking one item (a download or a log fetch).
	Task(name string) ProgressTask
}

// ProgressTask is one tracked item.
type ProgressTask interface {
	SetTotal(bytes int64)
	Add(bytes int64)
	Done(err error)
}

// withDefaults fills in defaults and checks what can be checked before any
// request.
func (o Options) withDefaults() (Options, error) {
	if o.Archive == nil {
		return o, &OptionsError{Option: OptionArchive, Reason: "none given"}
	}
	if o.Client == nil && o.api == nil {
		return o, &OptionsError{Option: OptionClient, Reason: "none given"}
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if len(o.Artifacts) == 0 {
		o.Artifacts = DefaultArtifacts
	}
	for _, g := range o.Artifacts {
		if _, err := path.Match(g, ""); err != nil {
			return o, &OptionsError{Option: OptionArtifacts, Value: g, Reason: "bad glob", Err: err}
		}
	}
	switch o.Logs {
	case "":
		o.Logs = LogsAll
	case LogsAll, LogsFailed, LogsNone:
	default:
		return o, &OptionsError{Option: OptionLogs, Value: string(o.Logs), Reason: "want all, failed or none"}
	}
	if o.MaxArtifactSize <= 0 {
		o.MaxArtifactSize = DefaultMaxArtifactSize
	}
	if o.HTTPClient == nil {
		o.HTTPClient = NewDownloadClient()
	}
	if o.DownloadAttempts <= 0 {
		o.DownloadAttempts = DefaultDownloadAttempts
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.Analyzer == nil {
		o.Analyzer = defaultAnalyzer
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Progress == nil {
		o.Progress = noProgress{}
	}
	if o.backoff == nil {
		o.backoff = defaultBackoff
	}
	if o.Folder != "" {
		if err := archive.CheckKey(o.Folder); err != nil {
			return o, &OptionsError{Option: OptionFolder, Value: o.Folder, Reason: "not a clean archive key", Err: err}
		}
	}
	return o, nil
}

// selected reports whether a resource path matches the artifact globs.
func selected(globs []string, p string) bool {
	for _, g := range globs {
		if g == "*" || g == "**" {
			return true
		}
		target := p
		if !strings.Contains(g, "/") {
			target = path.Base(p)
		}
		if ok, _ := path.Match(g, target); ok {
			return true
		}
	}
	return false
}

// RunFolder is the archive folder of a run: <workspace>/<schedule>/<run id>,
// each part made safe. Outside text never decides more than one path
// component each.
func RunFolder(p *Payload) string {
	ws := p.Workspace.Name
	if ws == "" {
		ws = p.Workspace.UID
	}
	if ws == "" {
		ws = "unknown-workspace"
	}
	sched := p.ScheduleName
	if sched == "" {
		sched = "unknown-schedule"
	}
	id := p.RunID
	if id == "" {
		id = p.UUID
	}
	if id == "" {
		id = "unknown-run"
	}
	return archive.SafeName(ws) + "/" + archive.SafeName(sched) + "/" + archive.SafeName(id)
}

type noProgress struct{}

func (noProgress) Task(string) ProgressTask { return noTask{} }

type noTask struct{}

func (noTask) SetTotal(int64) {}
func (noTask) Add(int64)      {}
func (noTask) Done(error)     {}
