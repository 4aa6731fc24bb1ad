package fakebolt

import (
	"log/slog"
	"time"
)

// Options configures a Server. The zero value serves nothing useful: set at
// least one credential (APIKey+APISecret or Token), or every API call answers
// 401.
type Options struct {
	// APIKey and APISecret are the accepted X-API-KEY / X-API-SECRET pair.
	APIKey, APISecret string
	// Token is the accepted bearer token (prdm_wsp_... or prdm_cmp_...). A
	// prdm_cmp_ token also requires X-Paradime-Workspace == WorkspaceUID.
	Token string
	// WorkspaceUID is the workspace a company token must name.
	WorkspaceUID string
	// EndpointToken is the <token> path segment of the GraphQL endpoint
	// (/api/v1/<token>/graphql). Default: a random value. Requests to any
	// other token answer 404.
	EndpointToken string
	// URLTTL is the lifetime of a presigned artifact URL (default 5m). An
	// expired URL answers 403 with S3's XML AccessDenied "Request has
	// expired".
	URLTTL time.Duration
	// ExpireOnFirstUse makes the first URL issued for each resource answer
	// 403-expired the first time it is fetched, as if it had expired in
	// flight. URLs issued later for the same resource (a client asking
	// boltResourceUrl again) behave normally, so a client that refreshes
	// URLs on expiry succeeds on its second try.
	ExpireOnFirstUse bool
	// Latency is added before every API response and before the first byte
	// of every download.
	Latency time.Duration
	// BytesPerSec caps the download bandwidth per connection (0: unlimited).
	BytesPerSec int64
	// LogPageSize is the number of lines per boltCommandLogs page (default
	// 100), so a client must follow the cursor.
	LogPageSize int
	// MaxRequestBody caps the body of an API request (default 1 MiB);
	// larger bodies answer 413.
	MaxRequestBody int64
	// Seed seeds the random fault injection (Fault.Rate).
	Seed int64
	// Now is the clock used for URL signing and expiry (default time.Now).
	Now func() time.Time
	// Logger receives one debug line per request (path without query
	// string, never a header value). Default: discard.
	Logger *slog.Logger
}

// Run is one Bolt run as the fake knows it. IDs are GraphQL Ints, so they
// must fit in 32 bits to be queried.
type Run struct {
	ID           int64
	UUID         string
	Status       string // webhook status: succeeded, failed, error, running, ...
	ScheduleName string
	Workspace    Workspace
	Start, End   time.Time
	Commands     []Command
	RunURL       string // default: https://app.demo.paradime.io/bolt/run_id/<ID>

	// Optional details used by listBoltRuns and the payload's environment
	// and schedule blocks.
	Actor, ActorEmail  string // default actor: "Manual"
	Branch, CommitHash string
	PullRequestID      int64
	ParentRunID        int64
	ErrorString        string
	Environment        string   // schedule environment, default "production"
	Cron               string   // schedule, default "@daily"
	OwnerEmail         string   // schedule owner
	ScheduleBranch     string   // schedule git_branch (null when empty)
	ScheduleCommands   []string // default: the dbt commands other than "dbt deps"
	EmailNotify        []string // schedule email_notify
	SlackNotify        []string // schedule slack_notify
}

// Workspace names the workspace a run belongs to.
type Workspace struct {
	Name, UID string
}

// Command is one command of a run, with its output and artifacts.
type Command struct {
	ID         int64
	Command    string
	Status     string // succeeded, failed, ...
	ReturnCode int
	Stdout     string
	Stderr     string
	Start, End time.Time
	Resources  []Resource
	// LogsOnly makes boltCommand (and boltRunStatus's commands) answer
	// stdout "" and stderr "", as Paradime does for long logs, while
	// boltCommandLogs still pages every line of Stdout and Stderr. A client
	// gets the full output only through the boltCommandLogs fallback.
	LogsOnly bool
}

// Resource is one artifact of a command, served from Data or, when File is
// set, streamed from that file on disk.
type Resource struct {
	ID   int64
	Path string // e.g. target/manifest.json
	Data []byte
	File string
	// Missing makes boltResourceUrl answer {ok: false, url: null}, as for an
	// artifact that was never uploaded.
	Missing bool
}
