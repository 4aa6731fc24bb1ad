package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/boltfetch/boltfetch/internal/flexid"
)

// Command is boltCommand: one command of a Bolt run with its full output.
type Command struct {
	Command       string     `json:"command"`
	StartDttm     string     `json:"startDttm"`
	EndDttm       string     `json:"endDttm"`
	Stdout        string     `json:"stdout"`
	Stderr        string     `json:"stderr"`
	ReturnCode    *int       `json:"returnCode"`
	ScheduleRunID *int64     `json:"scheduleRunId"`
	Resources     []Resource `json:"resources"`
}

// Resource is an artifact a command produced, such as target/manifest.json.
type Resource struct {
	ID   int64  `json:"id"`
	Path string `json:"path"`
}

// UnmarshalJSON accepts the id as a number or as a numeric string (GraphQL
// ID scalars are strings on the wire).
func (r *Resource) UnmarshalJSON(b []byte) error {
	var raw struct {
		ID   flexInt `json:"id"`
		Path string  `json:"path"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	r.ID, r.Path = int64(raw.ID), raw.Path
	return nil
}

// RunStatus is boltRunStatus: a run's state (STARTING RUNNING SUCCESS ERROR
// FAILED CANCELED SKIPPED) and its commands.
type RunStatus struct {
	State    string       `json:"state"`
	Commands []RunCommand `json:"commands"`
}

// RunCommand is a command as boltRunStatus lists it.
type RunCommand struct {
	ID         int64  `json:"id"`
	Command    string `json:"command"`
	StartDttm  string `json:"startDttm"`
	EndDttm    string `json:"endDttm"`
	Stdout     string `json:"stdout"`
	Stderr     string `json:"stderr"`
	ReturnCode *int   `json:"returnCode"`
}

// UnmarshalJSON accepts the id as a number or a numeric string.
func (rc *RunCommand) UnmarshalJSON(b []byte) error {
	type plain RunCommand
	var raw struct {
		plain
		ID flexInt `json:"id"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*rc = RunCommand(raw.plain)
	rc.ID = int64(raw.ID)
	return nil
}

// LogLine is one line of boltCommandLogs. Stream is STDOUT or STDERR.
type LogLine struct {
	Stream string `json:"stream"`
	Line   string `json:"line"`
}

// flexInt decodes a JSON number or a string holding one.
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	n, ok := flexid.Int(b)
	if !ok {
		return fmt.Errorf("id %s is not an integer", excerpt(string(b), 40))
	}
	*f = flexInt(n)
	return nil
}

// Typed documents, sent with variables.
const (
	commandQuery = `query BoltCommand($commandId: Int!) {
 boltCommand(commandId: $commandId) {
  command startDttm endDttm stdout stderr returnCode scheduleRunId
  resources { id path }
 }
}`
	resourceURLQuery = `query BoltResourceUrl($resourceId: Int!) {
 boltResourceUrl(resourceId: $resourceId) { ok url }
}`
	runStatusQuery = `query BoltRunStatus($runId: Int!) {
 boltRunStatus(runId: $runId) {
  state
  commands { id command startDttm endDttm stdout stderr returnCode }
 }
}`
	commandLogsQuery = `query BoltCommandLogs($commandId: Int!, $cursor: String) {
 boltCommandLogs(commandId: $commandId, cursor: $cursor) {
  lines { stream line }
  cursor
  finished
 }
}`
)

// Command fetches boltCommand with all its fields.
func (c *Client) Command(ctx context.Context, id int64) (*Command, error) {
	var cmd Command
	if err := c.query(ctx, fieldCommand, commandQuery, map[string]any{"commandId": id}, fieldCommand, fieldCommand, id, &cmd); err != nil {
		return nil, err
	}
	return &cmd, nil
}

// ResourceURL fetches boltResourceUrl: the presigned URL of an artifact.
// ok=false or a null url is a *NotFoundError. The URL is a secret of sorts:
// log it only without its query string (see RedactURL).
func (c *Client) ResourceURL(ctx context.Context, id int64) (string, error) {
	return c.resourceURL(ctx, fieldResourceURL, resourceURLQuery, map[string]any{"resourceId": id}, fieldResourceURL, id)
}

// RunStatus fetches boltRunStatus with its commands.
func (c *Client) RunStatus(ctx context.Context, runID int64) (*RunStatus, error) {
	const field = "boltRunStatus"
	var rs RunStatus
	if err := c.query(ctx, field, runStatusQuery, map[string]any{"runId": runID}, field, field, runID, &rs); err != nil {
		return nil, err
	}
	return &rs, nil
}

// LogsIncompleteError reports that CommandLogs stopped before the server
// said finished; the lines read so far are returned with it.
type LogsIncompleteError struct {
	CommandID int64
	Pages     int
	Reason    string
}

func (e *LogsIncompleteError) Error() string {
	return fmt.Sprintf("boltCommandLogs %d incomplete after %d page(s): %s", e.CommandID, e.Pages, e.Reason)
}

// CommandLogs follows boltCommandLogs from cursor "0:0" until finished: the
// fetcher's fallback when boltCommand's stdout comes back empty (a stdout
// truncated but not empty cannot be told from a complete one, so that case
// is not detected). It stops after Config.MaxLogPages pages, when the total
// passes Config.MaxBodyBytes, or when the cursor stops moving three times in
// a row (waiting RetryWaitMin between), returning the lines so far with a
// *LogsIncompleteError.
func (c *Client) CommandLogs(ctx context.Context, id int64) ([]LogLine, error) {
	const field = "boltCommandLogs"
	var (
		lines  []LogLine
		total  int64
		cursor = "0:0"
		stalls int
	)
	for page := 1; ; page++ {
		if page > c.cfg.MaxLogPages {
			return lines, &LogsIncompleteError{CommandID: id, Pages: page - 1, Reason: fmt.Sprintf("more than %d pages", c.cfg.MaxLogPages)}
		}
		var p struct {
			Lines    []LogLine `json:"lines"`
			Cursor   *string   `json:"cursor"`
			Finished bool      `json:"finished"`
		}
		if err := c.query(ctx, field, commandLogsQuery, map[string]any{"commandId": id, "cursor": cursor}, field, field, id, &p); err != nil {
			return lines, err
		}
		for _, l := range p.Lines {
			total += int64(len(l.Line)) + 1
		}
		if total > c.cfg.MaxBodyBytes {
			return lines, &LogsIncompleteError{CommandID: id, Pages: page, Reason: fmt.Sprintf("logs exceed the %d-byte limit", c.cfg.MaxBodyBytes)}
		}
		lines = append(lines, p.Lines...)
		if p.Finished {
			return lines, nil
		}
		if p.Cursor == nil || *p.Cursor == "" {
			return lines, &LogsIncompleteError{CommandID: id, Pages: page, Reason: "the server returned no cursor and did not say finished"}
		}
		if *p.Cursor == cursor && len(p.Lines) == 0 {
			stalls++
			if stalls >= 3 {
				return lines, &LogsIncompleteError{CommandID: id, Pages: page, Reason: "the cursor stopped moving (is the command still running?)"}
			}
			t := time.NewTimer(c.cfg.RetryWaitMin)
			select {
			case <-ctx.Done():
				t.Stop()
				return lines, &TransportError{Host: c.host, Attempts: page, Err: ctx.Err()}
			case <-t.C:
			}
		} else {
			stalls = 0
		}
		cursor = *p.Cursor
	}
}

// Exec sends a payload's own api_query or resource_query after the query
// guard (see CheckQuery) and returns the response's data. What is sent is
// the document re-printed from the checked syntax tree. A refusal is a
// *QueryRefusedError and nothing is sent. With GraphQL errors beside
// partial data, both the data and the error are returned.
func (c *Client) Exec(ctx context.Context, document string) (json.RawMessage, error) {
	q, err := checkQuery(document)
	if err != nil {
		return nil, err
	}
	t := &responseTarget{raw: true}
	err = c.exec(ctx, opName(q), q.Text, nil, t)
	if t.value == nil {
		return nil, err
	}
	return json.RawMessage(t.value), err
}

// opName names a checked document's call in logs: its root fields.
func opName(q *checkedQuery) string {
	names := make([]string, len(q.Roots))
	for i, r := range q.Roots {
		names[i] = r.Name
	}
	return strings.Join(names, ",")
}

// checkPayloadQuery applies the guard, then requires that the document asks
// for exactly one root field, field, with the expected id: a payload that
// asks for another command's data than the one it lists is refused.
func checkPayloadQuery(document, field string, id int64) (*checkedQuery, rootField, error) {
	q, err := checkQuery(document)
	if err != nil {
		return nil, rootField{}, err
	}
	if len(q.Roots) != 1 || q.Roots[0].Name != field {
		return nil, rootField{}, refusef("expected exactly one %s root field, found %d root field(s)", field, len(q.Roots))
	}
	if q.Roots[0].ID != id {
		return nil, rootField{}, refusef("%s asks for id %d but the payload lists id %d", field, q.Roots[0].ID, id)
	}
	return q, q.Roots[0], nil
}

// PayloadCommand runs a payload command's api_query: the guard, then a
// check that it asks boltCommand for commandID and nothing else, then Exec,
// then decoding. When the document is refused and Config.FallbackTypedQuery
// is set, it logs a warning and sends the typed Command query instead.
func (c *Client) PayloadCommand(ctx context.Context, document string, commandID int64) (*Command, error) {
	q, root, err := checkPayloadQuery(document, fieldCommand, commandID)
	if err != nil {
		if c.cfg.FallbackTypedQuery {
			c.log.Warn("payload api_query refused; sending the typed boltCommand query instead", "host", c.host, "command_id", commandID, "reason", err.Error())
			return c.Command(ctx, commandID)
		}
		return nil, err
	}
	var cmd Command
	if err := c.query(ctx, opName(q), q.Text, nil, root.Key, fieldCommand, commandID, &cmd); err != nil {
		return nil, err
	}
	return &cmd, nil
}

// PayloadResourceURL runs a payload resource's resource_query, checked like
// PayloadCommand's (boltResourceUrl for resourceID only), and returns the
// presigned URL.
func (c *Client) PayloadResourceURL(ctx context.Context, document string, resourceID int64) (string, error) {
	q, root, err := checkPayloadQuery(document, fieldResourceURL, resourceID)
	if err != nil {
		if c.cfg.FallbackTypedQuery {
			c.log.Warn("payload resource_query refused; sending the typed boltResourceUrl query instead", "host", c.host, "resource_id", resourceID, "reason", err.Error())
			return c.ResourceURL(ctx, resourceID)
		}
		return "", err
	}
	return c.resourceURL(ctx, opName(q), q.Text, nil, root.Key, resourceID)
}

// resourceURL sends a boltResourceUrl document and checks its answer.
func (c *Client) resourceURL(ctx context.Context, op, document string, vars map[string]any, key string, id int64) (string, error) {
	var r struct {
		OK  bool    `json:"ok"`
		URL *string `json:"url"`
	}
	if err := c.query(ctx, op, document, vars, key, fieldResourceURL, id, &r); err != nil {
		return "", err
	}
	if !r.OK {
		return "", &NotFoundError{Field: fieldResourceURL, ID: id, Message: "ok=false (the artifact may not have been uploaded)"}
	}
	if r.URL == nil || *r.URL == "" {
		return "", &NotFoundError{Field: fieldResourceURL, ID: id, Message: "the url is null"}
	}
	u, err := url.Parse(*r.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", &DecodeError{Host: c.host, Err: fmt.Errorf("boltResourceUrl %d: the url is not an absolute http(s) URL", id)}
	}
	return *r.URL, nil
}

// query sends a document and decodes the value of data[key] into v (a
// pointer) in the same pass. A missing or null value is a *NotFoundError
// about field id.
func (c *Client) query(ctx context.Context, op, document string, vars map[string]any, key, field string, id int64, v any) error {
	t := &responseTarget{key: key, v: v}
	if err := c.exec(ctx, op, document, vars, t); err != nil {
		var de *DecodeError
		if errors.As(err, &de) {
			de.Err = fmt.Errorf("%s %d: %w", field, id, de.Err)
		}
		return withID(err, field, id)
	}
	switch {
	case !t.data:
		return &NotFoundError{Field: field, ID: id, Message: "the response data is null"}
	case !t.found:
		return &NotFoundError{Field: field, ID: id, Message: "the server returned null"}
	}
	return nil
}

// withID fills in which object a *NotFoundError is about.
func withID(err error, field string, id int64) error {
	var nf *NotFoundError
	if errors.As(err, &nf) && nf.Field == "" {
		nf.Field, nf.ID = field, id
	}
	return err
}

// RedactURL returns u without its query string, fragment and userinfo: the
// form of a presigned URL fit for logs and errors.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	// Rebuilt from the parts that are safe, rather than stripping the
	// others: an opaque URL could carry a query-like string too.
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}
