package fetcher

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"strconv"

	"github.com/boltfetch/boltfetch/archive"
	"github.com/boltfetch/boltfetch/client"
)

// Report is the outcome of one Fetch: what was archived where, what failed,
// and the analysis of each command's dbt artifacts. Its JSON form is the
// contract of `boltfetch fetch --format json` and of report.json.
type Report struct {
	// Event is "bolt.run.completed" or "bolt.run.started".
	Event string `json:"event"`
	// NothingToFetch is true for a started payload, or a completed one
	// listing no command.
	NothingToFetch bool    `json:"nothing_to_fetch"`
	Run            RunInfo `json:"run"`
	// Archive is where the run was archived.
	Archive  ArchiveInfo     `json:"archive"`
	Commands []CommandReport `json:"commands"`
	// Errors lists every error of the fetch: each command's, with its
	// command_id, and those of the run as a whole.
	Errors  []ItemError `json:"errors"`
	Summary Summary     `json:"summary"`
}

// RunInfo describes the Bolt run, from the payload.
type RunInfo struct {
	ID           ID        `json:"id"`
	UUID         string    `json:"uuid"`
	Status       string    `json:"status"`
	ScheduleName string    `json:"schedule_name"`
	Workspace    Workspace `json:"workspace"`
	RunURL       string    `json:"run_url"`
	Start        string    `json:"start"`
	End          string    `json:"end"`
	// APIHost is the host the follow-up queries went to (never the full
	// api_url: its path holds a token).
	APIHost string `json:"api_host,omitempty"`
}

// ArchiveInfo says where a run's files are.
type ArchiveInfo struct {
	// Location is the archive's root (--out, or a bucket URL).
	Location string `json:"location"`
	// Folder is the run's folder, relative to Location.
	Folder string `json:"folder"`
}

// CommandReport is one command's outcome.
type CommandReport struct {
	ID         ID               `json:"id"`
	Command    string           `json:"command"`
	Status     string           `json:"status"`
	ReturnCode *int             `json:"return_code"`
	Start      string           `json:"start,omitempty"`
	End        string           `json:"end,omitempty"`
	Logs       *Logs            `json:"logs"`
	Artifacts  []ArtifactReport `json:"artifacts"`
	Analysis   Analysis         `json:"analysis"`
	Errors     []ItemError      `json:"errors"`
}

// Logs are a command's archived stdout and stderr.
type Logs struct {
	Stdout *LogFile `json:"stdout"`
	Stderr *LogFile `json:"stderr"`
	// Source is "api_query", "command_logs" (the paged fallback when
	// boltCommand's stdout was empty) or "archive" (already archived).
	Source string `json:"source"`
}

// LogFile is one archived log.
type LogFile struct {
	// Path is relative to the archive's root (--out).
	Path   string `json:"path"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// ArtifactReport is one selected artifact of a command.
type ArtifactReport struct {
	ResourceID ID `json:"resource_id"`
	// Path is the resource path from the payload, cleaned.
	Path string `json:"path"`
	// Location is the archived file, relative to the archive's root; empty
	// when the artifact could not be archived.
	Location string `json:"location"`
	Bytes    int64  `json:"bytes"`
	SHA256   string `json:"sha256"`
	// Reused is true when the archive already held this exact file and
	// nothing was asked or downloaded.
	Reused bool `json:"reused"`
	// Attempts counts download attempts, over every URL asked for.
	Attempts int `json:"attempts,omitempty"`
	// Error is null when the artifact was archived.
	Error *string `json:"error"`
}

// ItemError is one failure, located.
type ItemError struct {
	CommandID  ID     `json:"command_id,omitempty"`
	ResourceID ID     `json:"resource_id,omitempty"`
	Path       string `json:"path,omitempty"`
	// Stage is where it failed: api_query, command_logs, resource_query,
	// download, archive, analysis, payload.
	Stage string `json:"stage"`
	// Kind is a stable word to branch on: auth, rate_limited, not_found,
	// graphql, transport, status, body_too_large, query_refused,
	// path_refused, expired, truncated, too_large, canceled, ...
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// Summary counts the outcome.
type Summary struct {
	// Complete is true when everything selected was fetched: exit code 0.
	Complete          bool  `json:"complete"`
	Commands          int   `json:"commands"`
	CommandsFailed    int   `json:"commands_failed"` // by dbt's outcome, not ours
	LogsArchived      int   `json:"logs_archived"`
	ArtifactsArchived int   `json:"artifacts_archived"`
	ArtifactsReused   int   `json:"artifacts_reused"`
	ArtifactsFailed   int   `json:"artifacts_failed"`
	BytesDownloaded   int64 `json:"bytes_downloaded"`
	Analyses          int   `json:"analyses"`
	// AnalysesStreamed counts analyses that read their artifacts while they
	// downloaded; the others read the archived files afterwards (a retried
	// download, files already archived, or an analysis that lagged).
	AnalysesStreamed int   `json:"analyses_streamed"`
	NodesFailed      int   `json:"nodes_failed"`
	NodesWarned      int   `json:"nodes_warned"`
	NodesSkipped     int   `json:"nodes_skipped"`
	Errors           int   `json:"errors"`
	DurationMS       int64 `json:"duration_ms"`
}

// ID is a run, command or resource id as the payload gave it. It marshals
// as a JSON number when it is an integer (as Paradime sends them) and as a
// string otherwise, and reads either.
type ID string

// MarshalJSON implements json.Marshaler.
func (id ID) MarshalJSON() ([]byte, error) {
	if n, err := strconv.ParseInt(string(id), 10, 64); err == nil && strconv.FormatInt(n, 10) == string(id) {
		return []byte(id), nil
	}
	return json.Marshal(string(id))
}

// UnmarshalJSON implements json.Unmarshaler.
func (id *ID) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*id = ID(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*id = ID(n.String())
	return nil
}

// Kinds that are not download kinds.
const (
	KindPathRefused  = "path_refused"
	KindQueryRefused = "query_refused"
	KindBadPayload   = "bad_payload"
)

// kindOf gives an error its report kind.
func kindOf(err error) string {
	var (
		de   *DownloadError
		pe   *archive.PathError
		ae   *client.AuthError
		rle  *client.RateLimitError
		nfe  *client.NotFoundError
		ge   *client.GraphQLError
		te   *client.TransportError
		se   *client.StatusError
		btle *client.BodyTooLargeError
		qre  *client.QueryRefusedError
		dce  *client.DecodeError
		hna  *client.HostNotAllowedError
	)
	switch {
	case errors.As(err, &de):
		return de.Kind
	case errors.As(err, &pe):
		return KindPathRefused
	case errors.As(err, &qre):
		return KindQueryRefused
	case errors.As(err, &hna):
		return "host_not_allowed"
	case errors.As(err, &ae):
		return "auth"
	case errors.As(err, &rle):
		return "rate_limited"
	case errors.As(err, &nfe):
		return "not_found"
	case errors.As(err, &ge):
		return "graphql"
	case errors.As(err, &btle):
		return "body_too_large"
	case errors.As(err, &se):
		return "status"
	case errors.As(err, &dce):
		return "decode"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return KindCanceled
	case errors.As(err, &te):
		return KindTransport
	case errors.Is(err, fs.ErrPermission), errors.Is(err, fs.ErrExist):
		return KindArchive
	}
	return "error"
}
