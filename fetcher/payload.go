package fetcher

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// DefaultMaxPayloadSize caps a payload: Paradime's are a few KB, so 16 MiB
// leaves room for huge runs while refusing a flood.
const DefaultMaxPayloadSize = 16 << 20

// Payload is a Bolt webhook payload, decoded leniently: unknown fields are
// ignored, missing optional fields are zero, ids may arrive as numbers or as
// strings, and a field of an unexpected type is treated as missing.
type Payload struct {
	// Started is true for a bolt.run.started payload (no commands list):
	// there is nothing to fetch yet.
	Started bool
	// Event is the payload's own event name when it carries one.
	Event        string
	APIURL       string
	RunID        string // as given: digits normally, but outside input
	UUID         string
	Status       string
	ScheduleName string
	RunURL       string
	Workspace    Workspace
	Start, End   string // as given, e.g. "2023-10-15 16:44:01.476190" (UTC)
	ErrorString  string
	Commands     []Command
	// Raw is the payload exactly as received, archived as payload.json.
	Raw []byte
}

// Workspace names the workspace of a run.
type Workspace struct {
	Name string `json:"name"`
	UID  string `json:"uid"`
}

// Command is one command of a completed run, as the payload lists it.
type Command struct {
	ID         int64  // 0 when the payload's id is missing or not an integer
	RawID      string // the id as given, for reports
	Command    string
	Status     string
	ReturnCode *int
	Start, End string
	APIQuery   string
	Resources  []Resource
}

// Resource is one artifact of a command, as the payload lists it.
type Resource struct {
	ID            int64
	RawID         string
	Path          string
	ResourceQuery string
}

// Failed reports whether the command did not succeed, by its status or its
// return code.
func (c Command) Failed() bool {
	if c.ReturnCode != nil && *c.ReturnCode != 0 {
		return true
	}
	s := strings.ToLower(c.Status)
	return s != "succeeded" && s != "success" && s != "passed"
}

// PayloadError reports a payload that cannot be used at all.
type PayloadError struct {
	Reason string
	Err    error
}

func (e *PayloadError) Error() string {
	if e.Err != nil {
		return "payload: " + e.Reason + ": " + e.Err.Error()
	}
	return "payload: " + e.Reason
}

func (e *PayloadError) Unwrap() error { return e.Err }

// DecodePayload reads one webhook payload, refusing more than limit bytes
// (DefaultMaxPayloadSize when limit <= 0). It fails only when the input is not
// one JSON object or lacks what a completed payload cannot do without (the
// api_url).
func DecodePayload(r io.Reader, limit int64) (*Payload, error) {
	if limit <= 0 {
		limit = DefaultMaxPayloadSize
	}
	raw, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, &PayloadError{Reason: "read", Err: err}
	}
	if int64(len(raw)) > limit {
		return nil, &PayloadError{Reason: fmt.Sprintf("larger than %d bytes (raise the payload size cap if this is real)", limit)}
	}
	return ParsePayload(raw)
}

// ParsePayload decodes one webhook payload held in memory. See DecodePayload.
func ParsePayload(raw []byte) (*Payload, error) {
	var top map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&top); err != nil {
		return nil, &PayloadError{Reason: "not a JSON object", Err: err}
	}
	if top == nil {
		return nil, &PayloadError{Reason: "not a JSON object (null)"}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &PayloadError{Reason: "trailing data after the JSON object"}
	}
	p := &Payload{
		Raw:          raw,
		Event:        firstString(top, "event", "event_type", "type"),
		APIURL:       str(top["api_url"]),
		RunID:        str(top["id"]),
		UUID:         str(top["uuid"]),
		Status:       str(top["status"]),
		ScheduleName: str(top["schedule_name"]),
		RunURL:       str(top["run_url"]),
		Start:        str(top["start_dttm"]),
		End:          str(top["end_dttm"]),
		ErrorString:  str(top["error_string"]),
	}
	if p.ScheduleName == "" {
		var sched map[string]json.RawMessage
		if json.Unmarshal(top["schedule"], &sched) == nil {
			p.ScheduleName = str(sched["name"])
		}
	}
	var ws map[string]json.RawMessage
	if json.Unmarshal(top["workspace"], &ws) == nil {
		p.Workspace = Workspace{Name: str(ws["name"]), UID: str(ws["uid"])}
	}
	var cmds []json.RawMessage
	cmdsRaw, hasCommands := top["commands"]
	if hasCommands && json.Unmarshal(cmdsRaw, &cmds) != nil {
		cmds = nil // "commands": null or of a wrong type: treat as absent
	}
	p.Started = cmds == nil || strings.Contains(strings.ToLower(p.Event), "started")
	if p.Started {
		return p, nil
	}
	for _, c := range cmds {
		var m map[string]json.RawMessage
		if json.Unmarshal(c, &m) != nil || m == nil {
			continue
		}
		cmd := Command{
			RawID:    str(m["id"]),
			Command:  str(m["command"]),
			Status:   str(m["status"]),
			Start:    str(m["start_dttm"]),
			End:      str(m["end_dttm"]),
			APIQuery: str(m["api_query"]),
		}
		cmd.ID, _ = intOf(m["id"])
		if rc, ok := intOf(m["return_code"]); ok && rc >= math.MinInt32 && rc <= math.MaxInt32 {
			v := int(rc)
			cmd.ReturnCode = &v
		}
		var res []json.RawMessage
		_ = json.Unmarshal(m["json_resources"], &res)
		for _, rr := range res {
			var rm map[string]json.RawMessage
			if json.Unmarshal(rr, &rm) != nil || rm == nil {
				continue
			}
			r := Resource{RawID: str(rm["id"]), Path: str(rm["path"]), ResourceQuery: str(rm["resource_query"])}
			r.ID, _ = intOf(rm["id"])
			cmd.Resources = append(cmd.Resources, r)
		}
		p.Commands = append(p.Commands, cmd)
	}
	if len(p.Commands) > 0 && p.APIURL == "" {
		return nil, &PayloadError{Reason: "completed payload without an api_url: nowhere to ask for logs and artifacts"}
	}
	return p, nil
}

// str returns a JSON string or number as text, and "" for anything else.
func str(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

func firstString(m map[string]json.RawMessage, keys ...string) string {
	for _, k := range keys {
		if s := str(m[k]); s != "" {
			return s
		}
	}
	return ""
}

// intOf reads an integer given as a JSON number (193439, 193439.0) or string
// ("193439").
func intOf(raw json.RawMessage) (int64, bool) {
	s := strings.TrimSpace(str(raw))
	if s == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

// paradimeTime is the layout of Bolt's timestamps, which carry no zone.
const paradimeTime = "2006-01-02 15:04:05.999999999"

// normalizeTime renders a payload timestamp as RFC 3339 in UTC when it can be
// read, and returns it unchanged otherwise.
func normalizeTime(s string) string {
	if s == "" {
		return ""
	}
	for _, layout := range []string{paradimeTime, "2006-01-02T15:04:05.999999999", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Format(time.RFC3339Nano)
		}
	}
	return s
}
