package fetcher

import (
	"fmt"
	"io"
	"strconv"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/boltfetch/boltfetch/artifacts"
	"github.com/boltfetch/boltfetch/internal/flexid"
)

// ReportVersion is the version of the report's JSON contract, written as
// report_version. Version 2 (the first to carry the key) embeds the slimmer
// analysis, lists in each command everything the archive holds for it (the
// merged command.json), and decodes back with DecodeReport. From version 2
// on, keys are only added: none is removed or changes meaning without a new
// version.
const ReportVersion = 2

// Report is the outcome of one Fetch: what was archived where, what failed,
// and the analysis of each command's dbt artifacts. Its JSON form is the
// contract of `boltfetch fetch --format json` and of report.json.
type Report struct {
	// ReportVersion is ReportVersion when written by this package.
	ReportVersion int `json:"report_version"`
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
	// Analysis is the analysis of the command's manifest and run_results,
	// nil without both.
	Analysis *artifacts.Analysis `json:"analysis"`
	Errors   []ItemError         `json:"errors"`
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

// MarshalJSONTo implements json.MarshalerTo.
func (id ID) MarshalJSONTo(enc *jsontext.Encoder) error {
	if n, err := strconv.ParseInt(string(id), 10, 64); err == nil && strconv.FormatInt(n, 10) == string(id) {
		return enc.WriteToken(jsontext.Int(n))
	}
	return enc.WriteToken(jsontext.String(string(id)))
}

// UnmarshalJSONFrom implements json.UnmarshalerFrom: a JSON string is taken
// as is, a number by its literal text.
func (id *ID) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	t, ok := flexid.Text(v)
	if !ok {
		return fmt.Errorf("id: %s, want a number or a string", describe(v))
	}
	*id = ID(t)
	return nil
}

// MarshalJSON implements the encoding/json Marshaler.
func (id ID) MarshalJSON() ([]byte, error) { return json.Marshal(id) }

// UnmarshalJSON implements the encoding/json Unmarshaler.
func (id *ID) UnmarshalJSON(b []byte) error { return json.Unmarshal(b, id) }

// jsonOptions are the report's encoding: indented, map keys sorted (so that
// equal reports are equal bytes), nothing escaped that JSON does not need.
var jsonOptions = json.JoinOptions(jsontext.WithIndent("  "), json.Deterministic(true))

// WriteJSON writes the report as indented JSON, streaming: nothing is
// buffered beyond the encoder's own small window.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := jsontext.NewEncoder(w, jsonOptions)
	return json.MarshalEncode(enc, rep, jsonOptions)
}

// DecodeReport reads a report as WriteJSON writes it (report.json), so that
// later stages (lineage, backfill, serve's status) read archived reports
// typed. A report of a newer version than this package knows is refused;
// one without report_version (written before version 2) is read as far as
// its keys match.
func DecodeReport(r io.Reader) (*Report, error) {
	var rep Report
	if err := json.UnmarshalRead(r, &rep); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	if rep.ReportVersion > ReportVersion {
		return nil, fmt.Errorf("report: report_version %d is newer than this boltfetch reads (%d)", rep.ReportVersion, ReportVersion)
	}
	return &rep, nil
}
