package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Pull mode: the typed queries that list runs and rebuild a run's follow-up
// from the API alone, when no webhook payload arrived. Every document here
// is a constant of this package, sent with variables; nothing comes from
// outside text.

// MaxListRunsLimit is the largest page listBoltRuns serves.
const MaxListRunsLimit = 1000

// ErrBadPage is returned by ListRuns for a limit outside 1..MaxListRunsLimit
// or a negative offset; nothing is sent.
var ErrBadPage = errors.New("listBoltRuns: the limit must be 1 to 1000 and the offset not negative")

// Run is one run as listBoltRuns lists it. Times are as Paradime gives them
// (UTC, without a zone), "" when null.
type Run struct {
	ID                  int64   `json:"id"`
	State               string  `json:"state"`
	Actor               string  `json:"actor"`
	ActorEmail          string  `json:"actorEmail"`
	StartDttm           string  `json:"startDttm"`
	EndDttm             string  `json:"endDttm"`
	ParentScheduleRunID int64   `json:"parentScheduleRunId"`
	GitInfo             GitInfo `json:"gitInfo"`
}

// GitInfo is the git state a run used.
type GitInfo struct {
	Branch        string `json:"branch"`
	CommitHash    string `json:"commitHash"`
	PullRequestID int64  `json:"pullRequestId"`
}

// Finished reports whether a boltRunStatus or listBoltRuns state is final:
// anything but STARTING and RUNNING (and an empty state).
func Finished(state string) bool {
	switch state {
	case "", "STARTING", "RUNNING":
		return false
	}
	return true
}

const (
	listRunsQuery = `query ListBoltRuns($slug: String, $offset: Int!, $limit: Int!) {
 listBoltRuns(slug: $slug, offset: $offset, limit: $limit) {
  ok
  runs { id state actor actorEmail startDttm endDttm parentScheduleRunId gitInfo { branch commitHash pullRequestId } }
 }
}`
	// runSummaryQuery is boltRunStatus without the commands' output.
	runSummaryQuery = `query BoltRunStatus($runId: Int!) {
 boltRunStatus(runId: $runId) {
  state
  commands { id command startDttm endDttm returnCode }
 }
}`
	// commandResourcesQuery is boltCommand with its resources only.
	commandResourcesQuery = `query BoltCommand($commandId: Int!) {
 boltCommand(commandId: $commandId) { resources { id path } }
}`
)

// ListRuns fetches one page of listBoltRuns: the runs of the schedule slug
// ("" for every schedule), newest first, skipping offset runs, at most
// limit (1..MaxListRunsLimit). An ok=false answer is a *GraphQLError.
func (c *Client) ListRuns(ctx context.Context, slug string, offset, limit int) ([]Run, error) {
	const field = "listBoltRuns"
	if limit < 1 || limit > MaxListRunsLimit || offset < 0 {
		return nil, ErrBadPage
	}
	vars := map[string]any{"offset": offset, "limit": limit, "slug": nil}
	if slug != "" {
		vars["slug"] = slug
	}
	data, err := c.rawQuery(ctx, field, listRunsQuery, vars)
	if err != nil {
		return nil, err
	}
	runs, err := decodeListRuns(data)
	if err != nil {
		return nil, c.decodeErr(err)
	}
	return runs, nil
}

// RunSummary fetches boltRunStatus without the commands' stdout and stderr:
// the run's state and its commands' ids, names, times and return codes. An
// unknown run (a GraphQL "does not exist" error, or null) is a
// *NotFoundError.
func (c *Client) RunSummary(ctx context.Context, runID int64) (*RunStatus, error) {
	const field = "boltRunStatus"
	data, err := c.rawQuery(ctx, field, runSummaryQuery, map[string]any{"runId": runID})
	if err != nil {
		return nil, withID(err, field, runID)
	}
	rs, err := decodeRunSummary(data, runID)
	if err != nil {
		return nil, c.decodeErr(err)
	}
	return rs, nil
}

// CommandResources fetches only the resources of boltCommand (no stdout).
// An unknown command is a *NotFoundError.
func (c *Client) CommandResources(ctx context.Context, commandID int64) ([]Resource, error) {
	data, err := c.rawQuery(ctx, fieldCommand, commandResourcesQuery, map[string]any{"commandId": commandID})
	if err != nil {
		return nil, withID(err, fieldCommand, commandID)
	}
	res, err := decodeCommandResources(data, commandID)
	if err != nil {
		return nil, c.decodeErr(err)
	}
	return res, nil
}

// rawQuery sends one of this file's documents and returns the answer's
// data as JSON (these answers are small: no stdout is asked). It is the
// only place pull mode touches the client's transport.
func (c *Client) rawQuery(ctx context.Context, op, document string, vars map[string]any) (json.RawMessage, error) {
	t := &responseTarget{raw: true}
	if err := c.exec(ctx, op, document, vars, t); err != nil {
		return nil, err
	}
	if t.value == nil {
		return json.RawMessage("null"), nil
	}
	return json.RawMessage(t.value), nil
}

// decodeErr types a decoding failure, keeping a *NotFoundError as it is.
func (c *Client) decodeErr(err error) error {
	var nf *NotFoundError
	var ge *GraphQLError
	if errors.As(err, &nf) || errors.As(err, &ge) {
		return err
	}
	return &DecodeError{Host: c.host, Err: err}
}

// rootValue returns data[field], or a *NotFoundError when data or the value
// is null or missing.
func rootValue(data json.RawMessage, field string, id int64) (json.RawMessage, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return nil, &NotFoundError{Field: field, ID: id, Message: "the response data is null"}
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &top); err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	v := bytes.TrimSpace(top[field])
	if len(v) == 0 || string(v) == "null" {
		return nil, &NotFoundError{Field: field, ID: id, Message: "the server returned null"}
	}
	return v, nil
}

func decodeListRuns(data json.RawMessage) ([]Run, error) {
	const field = "listBoltRuns"
	v, err := rootValue(data, field, 0)
	if err != nil {
		var nf *NotFoundError
		if errors.As(err, &nf) {
			return nil, &GraphQLError{StatusCode: 200, Messages: []string{field + " answered null"}}
		}
		return nil, err
	}
	var page struct {
		OK   *bool `json:"ok"`
		Runs []struct {
			ID                  flexInt  `json:"id"`
			State               *string  `json:"state"`
			Actor               *string  `json:"actor"`
			ActorEmail          *string  `json:"actorEmail"`
			StartDttm           *string  `json:"startDttm"`
			EndDttm             *string  `json:"endDttm"`
			ParentScheduleRunID *flexInt `json:"parentScheduleRunId"`
			GitInfo             *struct {
				Branch        *string  `json:"branch"`
				CommitHash    *string  `json:"commitHash"`
				PullRequestID *flexInt `json:"pullRequestId"`
			} `json:"gitInfo"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(v, &page); err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	if page.OK != nil && !*page.OK {
		return nil, &GraphQLError{StatusCode: 200, Messages: []string{field + " answered ok=false"}}
	}
	runs := make([]Run, 0, len(page.Runs))
	for i, r := range page.Runs {
		if r.ID <= 0 {
			return nil, fmt.Errorf("%s: run %d of the page has no positive id", field, i)
		}
		run := Run{
			ID: int64(r.ID), State: deref(r.State), Actor: deref(r.Actor), ActorEmail: deref(r.ActorEmail),
			StartDttm: deref(r.StartDttm), EndDttm: deref(r.EndDttm),
		}
		if r.ParentScheduleRunID != nil {
			run.ParentScheduleRunID = int64(*r.ParentScheduleRunID)
		}
		if g := r.GitInfo; g != nil {
			run.GitInfo = GitInfo{Branch: deref(g.Branch), CommitHash: deref(g.CommitHash)}
			if g.PullRequestID != nil {
				run.GitInfo.PullRequestID = int64(*g.PullRequestID)
			}
		}
		runs = append(runs, run)
	}
	return runs, nil
}

func decodeRunSummary(data json.RawMessage, runID int64) (*RunStatus, error) {
	const field = "boltRunStatus"
	v, err := rootValue(data, field, runID)
	if err != nil {
		return nil, err
	}
	var rs struct {
		OK       *bool        `json:"ok"`
		State    *string      `json:"state"`
		Commands []RunCommand `json:"commands"`
	}
	if err := json.Unmarshal(v, &rs); err != nil {
		return nil, fmt.Errorf("%s %d: %w", field, runID, err)
	}
	if rs.OK != nil && !*rs.OK {
		return nil, &NotFoundError{Field: field, ID: runID, Message: "ok=false"}
	}
	if rs.State == nil || *rs.State == "" {
		return nil, fmt.Errorf("%s %d: the answer has no state", field, runID)
	}
	for i, c := range rs.Commands {
		if c.ID <= 0 {
			return nil, fmt.Errorf("%s %d: command %d of the run has no positive id", field, runID, i)
		}
	}
	return &RunStatus{State: *rs.State, Commands: rs.Commands}, nil
}

func decodeCommandResources(data json.RawMessage, commandID int64) ([]Resource, error) {
	v, err := rootValue(data, fieldCommand, commandID)
	if err != nil {
		return nil, err
	}
	var c struct {
		Resources []Resource `json:"resources"`
	}
	if err := json.Unmarshal(v, &c); err != nil {
		return nil, fmt.Errorf("%s %d: %w", fieldCommand, commandID, err)
	}
	for i, r := range c.Resources {
		if r.ID <= 0 {
			return nil, fmt.Errorf("%s %d: resource %d has no positive id", fieldCommand, commandID, i)
		}
	}
	if c.Resources == nil {
		c.Resources = []Resource{}
	}
	return c.Resources, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
