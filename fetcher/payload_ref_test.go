package fetcher

import (
	"errors"
	"fmt"
	"math"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/boltfetch/boltfetch/internal/flexid"
	"github.com/boltfetch/boltfetch/internal/sniff"
)

// parsePayloadRef is ParsePayload as it was before the single-pass decoder
// (json.Unmarshal into map[string]jsontext.Value at each level), kept
// verbatim as the reference the differential tests compare against.
func parsePayloadRef(raw []byte) (*Payload, error) {
	if enc := sniff.Encoding(raw); enc != "" {
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
		if isKindRef(top["schedule"], '{') && json.Unmarshal(top["schedule"], &sched) == nil {
			p.ScheduleName = str(sched["name"])
		}
	}
	var ws map[string]jsontext.Value
	if isKindRef(top["workspace"], '{') && json.Unmarshal(top["workspace"], &ws) == nil {
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
		cmd, perr := parseCommandRef(fmt.Sprintf("commands[%d]", i), c)
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

// parseCommand reads one entry of commands, at JSON path at. A malformed
// entry gives what could be read and the first problem.
func parseCommandRef(at string, v jsontext.Value) (Command, *PayloadError) {
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
	cmd.Command = strictStrRef(m, "command", at, note)
	cmd.Status = strictStrRef(m, "status", at, note)
	cmd.Start = strictStrRef(m, "start_dttm", at, note)
	cmd.End = strictStrRef(m, "end_dttm", at, note)
	cmd.APIQuery = strictStrRef(m, "api_query", at, note)
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
			r.Path = strictStrRef(rm, "path", rat, note)
			r.ResourceQuery = strictStrRef(rm, "resource_query", rat, note)
			cmd.Resources = append(cmd.Resources, r)
		}
	}
	return cmd, bad
}

// strictStr reads m[key] as a string: "" when absent or null, a problem
// noted for any other type.
func strictStrRef(m map[string]jsontext.Value, key, at string, note func(*PayloadError)) string {
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

func isKindRef(v jsontext.Value, k jsontext.Kind) bool { return len(v) > 0 && v.Kind() == k }
