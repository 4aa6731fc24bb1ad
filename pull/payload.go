package pull

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/boltfetch/boltfetch/client"
)

// Source is the payload's "source" when it was pulled from the API.
const Source = "api"

// TimeLayout is Paradime's timestamp layout (UTC, without a zone), used for
// the pulled payload's times.
const TimeLayout = "2006-01-02 15:04:05.000000"

// API is what Payload asks Paradime. *client.Client provides it.
type API interface {
	// RunSummary is boltRunStatus without the commands' output.
	RunSummary(ctx context.Context, runID int64) (*client.RunStatus, error)
	// CommandResources is boltCommand's resources only.
	CommandResources(ctx context.Context, commandID int64) ([]client.Resource, error)
}

// ErrNotFinished is matched (errors.Is) by a *NotFinishedError.
var ErrNotFinished = errors.New("the run has not finished; nothing to fetch")

// NotFinishedError reports a run that is still STARTING or RUNNING: there
// is nothing to fetch yet, and nothing was written.
type NotFinishedError struct {
	RunID int64
	State string
}

func (e *NotFinishedError) Error() string {
	return fmt.Sprintf("run %d is %s: not finished; nothing to fetch", e.RunID, e.State)
}

// Is makes errors.Is(err, ErrNotFinished) true.
func (e *NotFinishedError) Is(target error) bool { return target == ErrNotFinished }

// ErrUnknownRun is matched (errors.Is) by an *UnknownRunError.
var ErrUnknownRun = errors.New("unknown run")

// UnknownRunError reports a run id the API does not know (a GraphQL "does
// not exist" error, or null). It is bad input: nothing was written.
type UnknownRunError struct {
	RunID int64
	Err   error // the *client.NotFoundError
}

func (e *UnknownRunError) Error() string {
	return fmt.Sprintf("run %d is unknown to the API: %v", e.RunID, e.Err)
}

// Unwrap returns the API's error.
func (e *UnknownRunError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUnknownRun) true.
func (e *UnknownRunError) Is(target error) bool { return target == ErrUnknownRun }

// RunInfo is what the API does not say about a run, and what was asked.
type RunInfo struct {
	// APIURL is the configured GraphQL endpoint: the payload's api_url.
	APIURL string
	// Schedule and Workspace name the run's archive folder; "" leaves
	// fetcher's placeholders (unknown-schedule, unknown-workspace).
	Schedule  string
	Workspace string
	// WorkspaceUID is the configured workspace uid (used for the folder
	// when Workspace is "").
	WorkspaceUID string
	// Start and End are the run's times when known (from listBoltRuns);
	// otherwise the payload takes its first command's start and its last
	// command's end.
	Start, End time.Time
}

// payload is the pulled payload, in the shape of Paradime's completed
// webhook payload plus "source", "requested" and "state".
type payload struct {
	Source       string     `json:"source"`
	Requested    requested  `json:"requested"`
	APIURL       string     `json:"api_url"`
	ID           int64      `json:"id"`
	Status       string     `json:"status"`
	State        string     `json:"state"`
	ScheduleName string     `json:"schedule_name"`
	Workspace    workspace  `json:"workspace"`
	StartDttm    *string    `json:"start_dttm"`
	EndDttm      *string    `json:"end_dttm"`
	Commands     []pcommand `json:"commands"`
}

type requested struct {
	RunID     int64  `json:"run_id"`
	Schedule  string `json:"schedule,omitempty"`
	Workspace string `json:"workspace,omitempty"`
}

type workspace struct {
	Name string `json:"name"`
	UID  string `json:"uid"`
}

type pcommand struct {
	APIQuery      string      `json:"api_query"`
	Command       string      `json:"command"`
	EndDttm       *string     `json:"end_dttm"`
	ID            int64       `json:"id"`
	JSONResources []presource `json:"json_resources"`
	ReturnCode    *int        `json:"return_code"`
	StartDttm     *string     `json:"start_dttm"`
	Status        string      `json:"status"`
}

type presource struct {
	ID            int64  `json:"id"`
	Path          string `json:"path"`
	ResourceQuery string `json:"resource_query"`
}

// CommandQuery is the api_query a pulled payload carries for a command: the
// canonical boltCommand document, without variables, as the guard accepts.
func CommandQuery(commandID int64) string {
	return fmt.Sprintf("query BoltCommand {\n boltCommand(commandId: %d) {\n command\n startDttm\n endDttm\n stdout\n stderr\n returnCode\n scheduleRunId\n resources {\n id\n path\n }\n }\n}", commandID)
}

// ResourceQuery is the resource_query a pulled payload carries for an
// artifact: the canonical boltResourceUrl document.
func ResourceQuery(resourceID int64) string {
	return fmt.Sprintf("query BoltResourceUrl {\n boltResourceUrl(resourceId: %d) {\n ok\n url\n }\n}", resourceID)
}

// maxResourceQueries bounds the boltCommand calls in flight for one run.
const maxResourceQueries = 8

// Payload builds the follow-up of run runID from the API alone: its state
// and commands (boltRunStatus), then each command's resources (boltCommand,
// resources only). It returns the payload bytes to give fetcher.Fetch, or:
//   - a *NotFinishedError (ErrNotFinished) for a STARTING or RUNNING run;
//   - an *UnknownRunError (ErrUnknownRun) for a run the API does not know;
//   - the client's typed error for anything else (auth, transport, ...).
func Payload(ctx context.Context, api API, runID int64, info RunInfo) ([]byte, error) {
	if runID <= 0 {
		return nil, &UnknownRunError{RunID: runID, Err: errors.New("a run id is a positive integer")}
	}
	rs, err := api.RunSummary(ctx, runID)
	if err != nil {
		var nf *client.NotFoundError
		if errors.As(err, &nf) {
			return nil, &UnknownRunError{RunID: runID, Err: err}
		}
		return nil, fmt.Errorf("run %d: %w", runID, err)
	}
	if !client.Finished(rs.State) {
		return nil, &NotFinishedError{RunID: runID, State: cmpOr(rs.State, "STARTING")}
	}
	resources := make([][]client.Resource, len(rs.Commands))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(maxResourceQueries)
	for i, c := range rs.Commands {
		g.Go(func() error {
			res, err := api.CommandResources(gctx, c.ID)
			if err != nil {
				return fmt.Errorf("run %d, command %d: resources: %w", runID, c.ID, err)
			}
			resources[i] = res
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}

	status := runStatus(rs.State)
	p := payload{
		Source:       Source,
		Requested:    requested{RunID: runID, Schedule: info.Schedule, Workspace: info.Workspace},
		APIURL:       info.APIURL,
		ID:           runID,
		Status:       status,
		State:        rs.State,
		ScheduleName: info.Schedule,
		Workspace:    workspace{Name: info.Workspace, UID: info.WorkspaceUID},
		StartDttm:    fmtTime(info.Start),
		EndDttm:      fmtTime(info.End),
		Commands:     make([]pcommand, 0, len(rs.Commands)),
	}
	for i, c := range rs.Commands {
		pc := pcommand{
			APIQuery:      CommandQuery(c.ID),
			Command:       c.Command,
			EndDttm:       optStr(c.EndDttm),
			ID:            c.ID,
			JSONResources: make([]presource, 0, len(resources[i])),
			ReturnCode:    c.ReturnCode,
			StartDttm:     optStr(c.StartDttm),
			Status:        commandStatus(c.ReturnCode, rs.State),
		}
		for _, r := range resources[i] {
			pc.JSONResources = append(pc.JSONResources, presource{ID: r.ID, Path: r.Path, ResourceQuery: ResourceQuery(r.ID)})
		}
		p.Commands = append(p.Commands, pc)
		if p.StartDttm == nil && c.StartDttm != "" && i == 0 {
			p.StartDttm = optStr(c.StartDttm)
		}
	}
	if p.EndDttm == nil {
		for i := len(rs.Commands) - 1; i >= 0; i-- {
			if e := rs.Commands[i].EndDttm; e != "" {
				p.EndDttm = optStr(e)
				break
			}
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(p); err != nil {
		return nil, fmt.Errorf("run %d: encode the payload: %w", runID, err)
	}
	return buf.Bytes(), nil
}

// runStatus maps boltRunStatus's state to the webhook's status word.
func runStatus(state string) string {
	switch state {
	case "SUCCESS":
		return "succeeded"
	case "FAILED":
		return "failed"
	case "ERROR":
		return "error"
	case "CANCELED":
		return "canceled"
	case "SKIPPED":
		return "skipped"
	}
	return strings.ToLower(state)
}

// commandStatus is a command's webhook status, which boltRunStatus does not
// give: its return code decides; without one, "succeeded" in a succeeded
// run and "unknown" otherwise.
func commandStatus(rc *int, runState string) string {
	switch {
	case rc != nil && *rc == 0:
		return "succeeded"
	case rc != nil:
		return "failed"
	case runState == "SUCCESS":
		return "succeeded"
	}
	return "unknown"
}

func fmtTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(TimeLayout)
	return &s
}

func optStr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// ParseTime reads a Paradime timestamp ("2023-10-15 16:44:01.476190", UTC)
// or RFC 3339. ok is false for "" or anything else.
func ParseTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	for _, layout := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
