package fetcher

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/boltfetch/boltfetch/internal/flexid"
	"github.com/boltfetch/boltfetch/internal/sniff"
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
		return nil, &PayloadError{Reason: fmt.Sprintf("larger than %d bytes (raise the payload size cap if this is real)", limit), Limit: limit}
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
//
// It reads the payload in one pass of a jsontext.Decoder, which refuses
// invalid JSON, invalid UTF-8 and duplicate keys as it goes; the strings it
// returns share one copy of raw.
func ParsePayload(raw []byte) (*Payload, error) {
	if enc := sniff.Encoding(raw); enc != "" {
		return nil, &PayloadError{Reason: "not one JSON object: the payload is " + enc + ", want UTF-8 JSON without a byte order mark"}
	}
	pp := payloadParsers.Get().(*payloadParser)
	p, err := pp.parse(raw)
	pp.release()
	payloadParsers.Put(pp)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// payloadParsers keeps decoders between payloads: a webhook receiver parses
// thousands a second.
var payloadParsers = sync.Pool{New: func() any {
	pp := new(payloadParser)
	pp.dec = jsontext.NewDecoder(&pp.in)
	return pp
}}

// payloadParser reads one payload. Values are kept as spans of raw until
// the whole document has been read, then judged in a fixed order, so that
// the first problem reported does not depend on the order of the keys.
type payloadParser struct {
	dec  *jsontext.Decoder
	in   bytes.Buffer // aliases raw: the decoder reads it without copying
	raw  []byte
	s    string // one copy of raw; the payload's strings are substrings of it
	name []byte // scratch for an object name holding escapes
}

// span locates a JSON value in raw; the zero span is an absent value.
type span struct{ off, end int }

func (pp *payloadParser) release() {
	pp.in = bytes.Buffer{}
	pp.dec.Reset(&pp.in)
	pp.raw, pp.s = nil, ""
}

// errSyntax marks a document the decoder refused; ParsePayload then words
// the error exactly as json.Unmarshal does (see syntaxError).
var errSyntax = errors.New("payload: invalid JSON")

func (pp *payloadParser) parse(raw []byte) (*Payload, error) {
	pp.raw = raw
	pp.in = *bytes.NewBuffer(raw)
	pp.dec.Reset(&pp.in)
	p, err := pp.document()
	if errors.Is(err, errSyntax) {
		return nil, syntaxError(raw, err)
	}
	return p, err
}

// syntaxError words a document the decoder refused, or that is not an
// object, as before the single-pass decoder: with json.Unmarshal's error.
func syntaxError(raw []byte, fast error) error {
	var top map[string]jsontext.Value
	if err := json.Unmarshal(raw, &top); err != nil {
		if errors.Is(err, jsontext.ErrDuplicateName) {
			return &PayloadError{Reason: "a key appears twice in one object (refused: parsers disagree on which one counts)", Err: err}
		}
		return &PayloadError{Reason: "not one JSON object", Err: err}
	}
	if top == nil {
		return &PayloadError{Reason: "not a JSON object (null)"}
	}
	return &PayloadError{Reason: "not one JSON object", Err: fast}
}

// val reads the next value as a span.
func (pp *payloadParser) val() (span, error) {
	v, err := pp.dec.ReadValue()
	if err != nil {
		return span{}, fmt.Errorf("%w: %w", errSyntax, err)
	}
	end := int(pp.dec.InputOffset())
	return span{end - len(v), end}, nil
}

// token reads the next structural token.
func (pp *payloadParser) token() error {
	if _, err := pp.dec.ReadToken(); err != nil {
		return fmt.Errorf("%w: %w", errSyntax, err)
	}
	return nil
}

func (pp *payloadParser) skip() error {
	if err := pp.dec.SkipValue(); err != nil {
		return fmt.Errorf("%w: %w", errSyntax, err)
	}
	return nil
}

// more reports whether the object or array being read has another member
// (a read error surfaces at the next read).
func (pp *payloadParser) more() bool {
	k := pp.dec.PeekKind()
	return k != '}' && k != ']'
}

// key reads an object member's name, unescaped. It is valid until the next
// read.
func (pp *payloadParser) key() ([]byte, error) {
	v, err := pp.dec.ReadValue()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errSyntax, err)
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return v[1 : len(v)-1], nil
	}
	pp.name, err = jsontext.AppendUnquote(pp.name[:0], v)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errSyntax, err)
	}
	return pp.name, nil
}

func (pp *payloadParser) json(s span) jsontext.Value {
	if s.end == 0 {
		return nil
	}
	return jsontext.Value(pp.raw[s.off:s.end])
}

func (pp *payloadParser) kind(s span) jsontext.Kind {
	if s.end == 0 {
		return 0
	}
	return jsontext.Value(pp.raw[s.off:s.end]).Kind()
}

// textOK is flexid.Text on a span, without copying: the content of a
// string, the literal of a number, ok false for anything else.
func (pp *payloadParser) textOK(sp span) (string, bool) {
	if sp.end == 0 {
		return "", false
	}
	s := pp.s[sp.off:sp.end]
	switch c := s[0]; {
	case c == '"':
		return unquote(s)
	case c == '-' || (c >= '0' && c <= '9'):
		if plainInt(s) {
			return s, true
		}
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
				return "", false
			}
		}
		return s, true
	}
	return "", false
}

// plainInt reports whether s is an optional minus and at most 18 digits,
// which strconv.ParseFloat always accepts.
func plainInt(s string) bool {
	if s[0] == '-' {
		s = s[1:]
	}
	if len(s) == 0 || len(s) > 18 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// unquote decodes a JSON string literal the decoder has accepted, as
// flexid.Text does: with no escape the content is a substring, otherwise
// every JSON escape is decoded ("\/", surrogate pairs included).
func unquote(s string) (string, bool) {
	in := s[1 : len(s)-1]
	if strings.IndexByte(in, '\\') < 0 {
		return in, true
	}
	return flexid.Unquote(s)
}

// text is str on a span.
func (pp *payloadParser) text(s span) string {
	t, _ := pp.textOK(s)
	return t
}

// id reads an id span as flexid.Int does.
func (pp *payloadParser) id(s span) int64 {
	t, ok := pp.textOK(s)
	if !ok {
		return 0
	}
	n, _ := flexid.Parse(t)
	return n
}

// topFields are the top-level values ParsePayload reads.
type topFields struct {
	id, uuid, status, scheduleName, runURL, start, end, errorString, event, apiURL span
	schedule, workspace                                                            bool // present and an object
	scheduleName2, wsName, wsUID                                                   span
	commands                                                                       span // when not an array
	hasCommands, commandsArray                                                     bool
}

func (pp *payloadParser) document() (*Payload, error) {
	if pp.dec.PeekKind() != '{' {
		return nil, errSyntax // not an object: worded by syntaxError
	}
	if err := pp.token(); err != nil {
		return nil, err
	}
	pp.s = string(pp.raw)
	var (
		f        topFields
		cmds     []Command
		firstBad *PayloadError
		usable   int
	)
	for pp.more() {
		k, err := pp.key()
		if err != nil {
			return nil, err
		}
		switch string(k) {
		case "id":
			f.id, err = pp.val()
		case "uuid":
			f.uuid, err = pp.val()
		case "status":
			f.status, err = pp.val()
		case "schedule_name":
			f.scheduleName, err = pp.val()
		case "run_url":
			f.runURL, err = pp.val()
		case "start_dttm":
			f.start, err = pp.val()
		case "end_dttm":
			f.end, err = pp.val()
		case "error_string":
			f.errorString, err = pp.val()
		case "event":
			f.event, err = pp.val()
		case "api_url":
			f.apiURL, err = pp.val()
		case "schedule":
			if pp.dec.PeekKind() == '{' {
				f.schedule = true
				err = pp.object("name", &f.scheduleName2, "", nil)
			} else {
				err = pp.skip()
			}
		case "workspace":
			if pp.dec.PeekKind() == '{' {
				f.workspace = true
				err = pp.object("name", &f.wsName, "uid", &f.wsUID)
			} else {
				err = pp.skip()
			}
		case "commands":
			f.hasCommands = true
			if pp.dec.PeekKind() != '[' {
				f.commands, err = pp.val()
				break
			}
			f.commandsArray = true
			if err = pp.token(); err != nil {
				break
			}
			for i := 0; err == nil && pp.more(); i++ {
				var cmd Command
				var bad *PayloadError
				cmd, bad, err = pp.command(i)
				if err != nil {
					break
				}
				if bad != nil {
					if firstBad == nil {
						firstBad = bad
					}
					cmd.Bad = bad.Path + ": " + bad.Reason
				} else {
					usable++
				}
				if cmds == nil {
					cmds = make([]Command, 0, 8)
				}
				cmds = append(cmds, cmd)
			}
			if err == nil {
				err = pp.token()
			}
		default:
			err = pp.skip()
		}
		if err != nil {
			return nil, err
		}
	}
	if err := pp.token(); err != nil {
		return nil, err
	}
	if _, err := pp.dec.ReadToken(); err != io.EOF {
		return nil, errSyntax // data after the object
	}

	// The document is valid: judge it, in the order of the rules.
	p := &Payload{
		Raw:          pp.raw,
		RunID:        pp.text(f.id),
		UUID:         pp.text(f.uuid),
		Status:       pp.text(f.status),
		ScheduleName: pp.text(f.scheduleName),
		RunURL:       pp.text(f.runURL),
		Start:        pp.text(f.start),
		End:          pp.text(f.end),
		ErrorString:  pp.text(f.errorString),
	}
	if f.event.end != 0 {
		if pp.kind(f.event) != '"' {
			return nil, &PayloadError{Path: "event", Reason: describe(pp.json(f.event)) + ", want a string"}
		}
		p.Event = pp.text(f.event)
		if p.Event != EventStarted && p.Event != EventCompleted {
			return nil, &PayloadError{Path: "event", Reason: fmt.Sprintf("%q is neither %s nor %s", truncate(p.Event, 80), EventStarted, EventCompleted)}
		}
	}
	if k := pp.kind(f.apiURL); f.apiURL.end != 0 && k != '"' && k != 'n' {
		return nil, &PayloadError{Path: "api_url", Reason: describe(pp.json(f.apiURL)) + ", want a string"}
	}
	p.APIURL = pp.text(f.apiURL)
	if p.ScheduleName == "" && f.schedule {
		p.ScheduleName = pp.text(f.scheduleName2)
	}
	if f.workspace {
		p.Workspace = Workspace{Name: pp.text(f.wsName), UID: pp.text(f.wsUID)}
	}
	if !f.hasCommands {
		// A started payload has no commands; a completed one without them
		// has nothing to fetch either.
		p.Started = p.Event != EventCompleted
		return p, nil
	}
	if !f.commandsArray {
		return nil, &PayloadError{Path: "commands", Reason: describe(pp.json(f.commands)) + ", want an array"}
	}
	if p.Event == EventStarted {
		p.Started = true
		return p, nil
	}
	if usable == 0 && firstBad != nil {
		return nil, firstBad
	}
	p.Commands = cmds
	if len(p.Commands) > 0 && p.APIURL == "" {
		return nil, &PayloadError{Path: "api_url", Reason: "missing from a completed payload: nowhere to ask for logs and artifacts"}
	}
	return p, nil
}

// object reads an object, keeping the values of the members named a and b
// (b unused when "").
func (pp *payloadParser) object(a string, va *span, b string, vb *span) error {
	if err := pp.token(); err != nil {
		return err
	}
	for pp.more() {
		k, err := pp.key()
		if err != nil {
			return err
		}
		switch {
		case string(k) == a:
			*va, err = pp.val()
		case vb != nil && string(k) == b:
			*vb, err = pp.val()
		default:
			err = pp.skip()
		}
		if err != nil {
			return err
		}
	}
	return pp.token()
}

// cmdPath is the JSON path of commands[i], of its resource j when j >= 0,
// and of its member key when key is not "".
func cmdPath(i, j int, key string) string {
	s := "commands[" + strconv.Itoa(i) + "]"
	if j >= 0 {
		s += ".json_resources[" + strconv.Itoa(j) + "]"
	}
	if key != "" {
		s += "." + key
	}
	return s
}

// command reads entry i of commands. A malformed entry gives what could be
// read and its first problem, in the order the rules list them; err is a
// syntax error only.
func (pp *payloadParser) command(i int) (cmd Command, bad *PayloadError, err error) {
	if pp.dec.PeekKind() != '{' {
		v, err := pp.val()
		if err != nil {
			return cmd, nil, err
		}
		return cmd, &PayloadError{Path: cmdPath(i, -1, ""), Reason: describe(pp.json(v)) + ", want an object"}, nil
	}
	if err := pp.token(); err != nil {
		return cmd, nil, err
	}
	var id, command, status, start, end, apiQuery, returnCode span
	var resBad *PayloadError // json_resources is judged last
	for pp.more() {
		k, err := pp.key()
		if err != nil {
			return cmd, nil, err
		}
		switch string(k) {
		case "id":
			id, err = pp.val()
		case "command":
			command, err = pp.val()
		case "status":
			status, err = pp.val()
		case "start_dttm":
			start, err = pp.val()
		case "end_dttm":
			end, err = pp.val()
		case "api_query":
			apiQuery, err = pp.val()
		case "return_code":
			returnCode, err = pp.val()
		case "json_resources":
			switch pp.dec.PeekKind() {
			case '[':
				err = pp.resources(i, &cmd, &resBad)
			default:
				var rv span
				if rv, err = pp.val(); err == nil && pp.kind(rv) != 'n' {
					resBad = &PayloadError{Path: cmdPath(i, -1, "json_resources"), Reason: describe(pp.json(rv)) + ", want an array"}
				}
			}
		default:
			err = pp.skip()
		}
		if err != nil {
			return cmd, nil, err
		}
	}
	if err := pp.token(); err != nil {
		return cmd, nil, err
	}

	note := func(e *PayloadError) {
		if bad == nil {
			bad = e
		}
	}
	cmd.RawID = pp.text(id)
	if k := pp.kind(id); id.end != 0 && k != '"' && k != '0' {
		note(&PayloadError{Path: cmdPath(i, -1, "id"), Reason: describe(pp.json(id)) + ", want an integer"})
	}
	cmd.ID = pp.id(id)
	cmd.Command = pp.strictStr(command, i, -1, "command", note)
	cmd.Status = pp.strictStr(status, i, -1, "status", note)
	cmd.Start = pp.strictStr(start, i, -1, "start_dttm", note)
	cmd.End = pp.strictStr(end, i, -1, "end_dttm", note)
	cmd.APIQuery = pp.strictStr(apiQuery, i, -1, "api_query", note)
	if returnCode.end != 0 && pp.kind(returnCode) != 'n' {
		t, ok := pp.textOK(returnCode)
		var rc int64
		if ok {
			rc, ok = flexid.Parse(t)
		}
		if !ok || rc < math.MinInt32 || rc > math.MaxInt32 {
			note(&PayloadError{Path: cmdPath(i, -1, "return_code"), Reason: describe(pp.json(returnCode)) + ", want an integer"})
		} else {
			v := int(rc)
			cmd.ReturnCode = &v
		}
	}
	if resBad != nil {
		note(resBad)
	}
	return cmd, bad, nil
}

// resources reads the json_resources array of command i into cmd, noting
// its first problem in *bad.
func (pp *payloadParser) resources(i int, cmd *Command, bad **PayloadError) error {
	note := func(e *PayloadError) {
		if *bad == nil {
			*bad = e
		}
	}
	if err := pp.token(); err != nil {
		return err
	}
	for j := 0; pp.more(); j++ {
		if pp.dec.PeekKind() != '{' {
			v, err := pp.val()
			if err != nil {
				return err
			}
			note(&PayloadError{Path: cmdPath(i, j, ""), Reason: describe(pp.json(v)) + ", want an object"})
			continue
		}
		if err := pp.token(); err != nil {
			return err
		}
		var id, path, query span
		for pp.more() {
			k, err := pp.key()
			if err != nil {
				return err
			}
			switch string(k) {
			case "id":
				id, err = pp.val()
			case "path":
				path, err = pp.val()
			case "resource_query":
				query, err = pp.val()
			default:
				err = pp.skip()
			}
			if err != nil {
				return err
			}
		}
		if err := pp.token(); err != nil {
			return err
		}
		r := Resource{RawID: pp.text(id)}
		if k := pp.kind(id); id.end != 0 && k != '"' && k != '0' {
			note(&PayloadError{Path: cmdPath(i, j, "id"), Reason: describe(pp.json(id)) + ", want an integer"})
		}
		r.ID = pp.id(id)
		r.Path = pp.strictStr(path, i, j, "path", note)
		r.ResourceQuery = pp.strictStr(query, i, j, "resource_query", note)
		if cmd.Resources == nil {
			cmd.Resources = make([]Resource, 0, 4)
		}
		cmd.Resources = append(cmd.Resources, r)
	}
	return pp.token()
}

// strictStr reads a member as a string: "" when absent or null, a problem
// noted (at the member's path) for any other type.
func (pp *payloadParser) strictStr(s span, i, j int, key string, note func(*PayloadError)) string {
	switch pp.kind(s) {
	case 0, 'n':
		return ""
	case '"':
		return pp.text(s)
	}
	note(&PayloadError{Path: cmdPath(i, j, key), Reason: describe(pp.json(s)) + ", want a string"})
	return ""
}

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
