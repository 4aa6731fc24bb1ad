package fetcher

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/boltfetch/boltfetch/internal/flexid"
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
	// Bad says why the payload's entry for this command cannot be used
	// (with its JSON path), "" when it can. Nothing is fetched for a bad
	// command: it is reported with a bad_payload error.
	Bad string
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

// Event names a payload may carry.
const (
	EventStarted   = "bolt.run.started"
	EventCompleted = "bolt.run.completed"
)

// ParsePayload decodes one webhook payload held in memory. See DecodePayload.
//
// The payload must be one JSON object with no duplicate key at any depth
// (two parsers could read such a document differently, and payload.json is
// archived as received). Unknown keys are ignored and a missing optional key
// is zero, but the keys boltfetch acts on must have their type:
//   - event, when present, is bolt.run.started or bolt.run.completed
//     (Paradime's own examples carry none);
//   - api_url is a string;
//   - commands, when present, is an array of objects; a payload without
//     commands has nothing to fetch (a started run);
//   - in a command, id is an integer (a number or a string holding one),
//     command, status, start_dttm, end_dttm and api_query are strings or
//     null, return_code an integer or null, json_resources an array (or null)
//     of objects whose id is an integer and path and resource_query strings.
//
// A command entry that breaks these rules is kept as a bad command: it is
// reported with a bad_payload error of stage payload, and nothing is fetched
// for it. When no command entry is usable, the payload as a whole is bad
// input. Every error names the JSON path of what is wrong, for example
// "commands[2].json_resources: an object, want an array".
func ParsePayload(raw []byte) (*Payload, error) {
	if enc := encodingOf(raw); enc != "" {
		return nil, &PayloadError{Reason: "not one JSON object: the payload is " + enc + ", want UTF-8 JSON without a byte order mark"}
	}
	var top map[string]jsontext.Value
	if err := json.Unmarshal(raw, &top); err != nil {
		if errors.Is(err, jsontext.ErrDuplicateName) {
			return nil, &PayloadError{Reason: "a key appears twice in one object (refused: parsers disagree on which one counts)", Err: err}
		}
		return nil, &PayloadError{Reason: "not one JSON object", Err: err}
	}
	if top == nil {
		return nil, &PayloadError{Reason: "not a JSON object (null)"}
	}
	p := &Payload{
		Raw:          raw,
		RunID:        str(top["id"]),
		UUID:         str(top["uuid"]),
		Status:       str(top["status"]),
		ScheduleName: str(top["schedule_name"]),
		RunURL:       str(top["run_url"]),
		Start:        str(top["start_dttm"]),
		End:          str(top["end_dttm"]),
		ErrorString:  str(top["error_string"]),
	}
	if ev, ok := top["event"]; ok {
		if ev.Kind() != '"' {
			return nil, &PayloadError{Path: "event", Reason: describe(ev) + ", want a string"}
		}
		p.Event = str(ev)
		if p.Event != EventStarted && p.Event != EventCompleted {
			return nil, &PayloadError{Path: "event", Reason: fmt.Sprintf("%q is neither %s nor %s", truncate(p.Event, 80), EventStarted, EventCompleted)}
		}
	}
	if v, ok := top["api_url"]; ok && v.Kind() != '"' && v.Kind() != 'n' {
		return nil, &PayloadError{Path: "api_url", Reason: describe(v) + ", want a string"}
	}
	p.APIURL = str(top["api_url"])
	if p.ScheduleName == "" {
		var sched map[string]jsontext.Value
		if isKind(top["schedule"], '{') && json.Unmarshal(top["schedule"], &sched) == nil {
			p.ScheduleName = str(sched["name"])
		}
	}
	var ws map[string]jsontext.Value
	if isKind(top["workspace"], '{') && json.Unmarshal(top["workspace"], &ws) == nil {
		p.Workspace = Workspace{Name: str(ws["name"]), UID: str(ws["uid"])}
	}
	cmdsRaw, hasCommands := top["commands"]
	if !hasCommands {
		// A started payload has no commands; a completed one without them
		// has nothing to fetch either.
		p.Started = p.Event != EventCompleted
		return p, nil
	}
	if cmdsRaw.Kind() != '[' {
		return nil, &PayloadError{Path: "commands", Reason: describe(cmdsRaw) + ", want an array"}
	}
	var cmds []jsontext.Value
	if err := json.Unmarshal(cmdsRaw, &cmds); err != nil {
		return nil, &PayloadError{Path: "commands", Reason: "unreadable", Err: err}
	}
	if p.Event == EventStarted {
		p.Started = true
		return p, nil
	}
	var firstBad *PayloadError
	usable := 0
	for i, c := range cmds {
		cmd, perr := parseCommand(fmt.Sprintf("commands[%d]", i), c)
		if perr != nil {
			if firstBad == nil {
				firstBad = perr
			}
			cmd.Bad = perr.Path + ": " + perr.Reason
		} else {
			usable++
		}
		p.Commands = append(p.Commands, cmd)
	}
	if usable == 0 && firstBad != nil {
		return nil, firstBad
	}
	if len(p.Commands) > 0 && p.APIURL == "" {
		return nil, &PayloadError{Path: "api_url", Reason: "missing from a completed payload: nowhere to ask for logs and artifacts"}
	}
	return p, nil
}

// encodingOf names an encoding that JSON parsers would report as an
// invalid character at byte 0: gzip, UTF-16 or UTF-32, or a UTF-8 byte
// order mark. "" for anything else.
func encodingOf(b []byte) string {
	switch {
	case len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b:
		return "gzip-compressed"
	case len(b) >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf:
		return "UTF-8 with a byte order mark"
	case len(b) >= 4 && (b[0] == 0xff && b[1] == 0xfe && b[2] == 0 && b[3] == 0 || b[0] == 0 && b[1] == 0 && b[2] == 0xfe && b[3] == 0xff):
		return "UTF-32"
	case len(b) >= 2 && (b[0] == 0xff && b[1] == 0xfe || b[0] == 0xfe && b[1] == 0xff):
		return "UTF-16 (with a byte order mark)"
	case len(b) >= 2 && (b[0] == 0 && b[1] != 0 || b[0] != 0 && b[1] == 0):
		return "UTF-16"
	}
	return ""
}

// parseCommand reads one entry of commands, at JSON path at. A malformed
// entry gives what could be read and the first problem.
func parseCommand(at string, v jsontext.Value) (Command, *PayloadError) {
	var cmd Command
	if v.Kind() != '{' {
		return cmd, &PayloadError{Path: at, Reason: describe(v) + ", want an object"}
	}
	var m map[string]jsontext.Value
	if err := json.Unmarshal(v, &m); err != nil {
		return cmd, &PayloadError{Path: at, Reason: "unreadable", Err: err}
	}
	var bad *PayloadError
	note := func(e *PayloadError) {
		if bad == nil {
			bad = e
		}
	}
	cmd.RawID = str(m["id"])
	if id, ok := m["id"]; ok {
		if id.Kind() != '"' && id.Kind() != '0' {
			note(&PayloadError{Path: at + ".id", Reason: describe(id) + ", want an integer"})
		}
	}
	cmd.ID, _ = flexid.Int(m["id"])
	cmd.Command = strictStr(m, "command", at, note)
	cmd.Status = strictStr(m, "status", at, note)
	cmd.Start = strictStr(m, "start_dttm", at, note)
	cmd.End = strictStr(m, "end_dttm", at, note)
	cmd.APIQuery = strictStr(m, "api_query", at, note)
	if rcv, ok := m["return_code"]; ok && rcv.Kind() != 'n' {
		rc, ok := flexid.Int(rcv)
		if !ok || rc < math.MinInt32 || rc > math.MaxInt32 {
			note(&PayloadError{Path: at + ".return_code", Reason: describe(rcv) + ", want an integer"})
		} else {
			v := int(rc)
			cmd.ReturnCode = &v
		}
	}
	if rv, ok := m["json_resources"]; ok && rv.Kind() != 'n' {
		var res []jsontext.Value
		if rv.Kind() != '[' || json.Unmarshal(rv, &res) != nil {
			note(&PayloadError{Path: at + ".json_resources", Reason: describe(rv) + ", want an array"})
		}
		for j, rr := range res {
			rat := fmt.Sprintf("%s.json_resources[%d]", at, j)
			var rm map[string]jsontext.Value
			if rr.Kind() != '{' || json.Unmarshal(rr, &rm) != nil {
				note(&PayloadError{Path: rat, Reason: describe(rr) + ", want an object"})
				continue
			}
			r := Resource{RawID: str(rm["id"])}
			if id, ok := rm["id"]; ok && id.Kind() != '"' && id.Kind() != '0' {
				note(&PayloadError{Path: rat + ".id", Reason: describe(id) + ", want an integer"})
			}
			r.ID, _ = flexid.Int(rm["id"])
			r.Path = strictStr(rm, "path", rat, note)
			r.ResourceQuery = strictStr(rm, "resource_query", rat, note)
			cmd.Resources = append(cmd.Resources, r)
		}
	}
	return cmd, bad
}

// strictStr reads m[key] as a string: "" when absent or null, a problem
// noted for any other type.
func strictStr(m map[string]jsontext.Value, key, at string, note func(*PayloadError)) string {
	v, ok := m[key]
	if !ok {
		return ""
	}
	switch v.Kind() {
	case '"':
		return str(v)
	case 'n':
		return ""
	}
	note(&PayloadError{Path: at + "." + key, Reason: describe(v) + ", want a string"})
	return ""
}

func isKind(v jsontext.Value, k jsontext.Kind) bool { return len(v) > 0 && v.Kind() == k }

// describe names the type of a JSON value, for errors.
func describe(v jsontext.Value) string {
	if len(v) == 0 {
		return "missing"
	}
	switch v.Kind() {
	case 'n':
		return "null"
	case 't', 'f':
		return "a boolean"
	case '"':
		return "a string"
	case '0':
		return "a number"
	case '{':
		return "an object"
	case '[':
		return "an array"
	}
	return "not JSON"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// str returns a JSON string or number as text, and "" for anything else.
func str(raw jsontext.Value) string {
	s, _ := flexid.Text(raw)
	return s
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
