package fetcher

import (
	"bytes"
	"encoding/json"
	"errors"
	"github.com/go-json-experiment/json/jsontext"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func intp(n int) *int { return &n }

func TestParsePayloadSeed(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../testdata/paradime/completed.json")
	if err != nil {
		t.Fatal(err)
	}
	p, err := DecodePayload(bytes.NewReader(raw), 0)
	if err != nil {
		t.Fatal(err)
	}
	if p.Started || p.RunID != "63187" || p.ScheduleName != "daily_run" || p.Workspace.Name != "demo-jaffle" ||
		p.APIURL != "https://api.demo.paradime.io/api/v1/uany7edagtovarzx/graphql" || p.Status != "failed" {
		t.Fatalf("payload = %+v", p)
	}
	if len(p.Commands) != 4 {
		t.Fatalf("%d commands", len(p.Commands))
	}
	run := p.Commands[3]
	want := Command{
		ID: 193442, RawID: "193442", Command: "dbt run", Status: "failed", ReturnCode: intp(1),
		Start: "2023-10-15 16:44:29.586366", End: "2023-10-15 16:44:37.422950",
		APIQuery: run.APIQuery,
		Resources: []Resource{
			{ID: 1205743, RawID: "1205743", Path: "target/manifest.json", ResourceQuery: "query BoltResourceUrl {\n boltResourceUrl(resourceId: 1205743) {\n ok\n url\n }\n}"},
			{ID: 1205761, RawID: "1205761", Path: "target/run_results.json", ResourceQuery: "query BoltResourceUrl {\n boltResourceUrl(resourceId: 1205761) {\n ok\n url\n }\n}"},
		},
	}
	if diff := cmp.Diff(want, run); diff != "" {
		t.Errorf("dbt run command (-want +got):\n%s", diff)
	}
	if !strings.Contains(run.APIQuery, "boltCommand(commandId: 193442)") {
		t.Errorf("api_query = %q", run.APIQuery)
	}
	if !run.Failed() || p.Commands[2].Failed() {
		t.Error("Failed() is wrong")
	}
	if got := normalizeTime(p.Start); got != "2023-10-15T16:44:01.47619Z" {
		t.Errorf("normalizeTime = %q", got)
	}
}

func TestParsePayloadStarted(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../testdata/paradime/started.json")
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParsePayload(raw)
	if err != nil || !p.Started || len(p.Commands) != 0 {
		t.Fatalf("started payload = %+v, %v", p, err)
	}
}

func TestParsePayloadLenient(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want *Payload // only the fields compared below
		err  bool
	}{
		{"ids as strings", `{"api_url":"https://a.paradime.io/x","id":"7","commands":[{"id":"12","return_code":"0","json_resources":[{"id":"99","path":"p"}]}]}`,
			&Payload{APIURL: "https://a.paradime.io/x", RunID: "7", Commands: []Command{{ID: 12, RawID: "12", ReturnCode: intp(0), Resources: []Resource{{ID: 99, RawID: "99", Path: "p"}}}}}, false},
		{"ids as floats", `{"api_url":"u","commands":[{"id":12.0}]}`,
			&Payload{APIURL: "u", Commands: []Command{{ID: 12, RawID: "12.0"}}}, false},
		{"unknown fields and wrong types of unused fields ignored", `{"api_url":"u","extra":{"a":[1]},"workspace":"oops","schedule":{"name":"from-schedule"},"commands":[{"id":1,"json_resources":null,"status":null,"more":{}}]}`,
			&Payload{APIURL: "u", ScheduleName: "from-schedule", Commands: []Command{{ID: 1, RawID: "1"}}}, false},
		{"non-integer id kept raw", `{"api_url":"u","commands":[{"id":"abc"},{"id":1e300}]}`,
			&Payload{APIURL: "u", Commands: []Command{{RawID: "abc"}, {RawID: "1e300"}}}, false},
		{"no commands is started", `{"id":1}`, &Payload{RunID: "1", Started: true}, false},
		{"completed without commands has nothing to fetch", `{"event":"bolt.run.completed"}`, &Payload{Event: EventCompleted}, false},
		{"event says started", `{"event":"bolt.run.started","commands":[]}`, &Payload{Event: "bolt.run.started", Started: true}, false},
		{"empty commands is completed", `{"commands":[]}`, &Payload{}, false},
		{"no api_url", `{"commands":[{"id":1}]}`, nil, true},
		{"array", `[1,2]`, nil, true},
		{"null", `null`, nil, true},
		{"trailing data", `{"commands":[]} {}`, nil, true},
		{"not json", `hello`, nil, true},
		{"empty", ``, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := ParsePayload([]byte(tt.in))
			if tt.err {
				var pe *PayloadError
				if !errors.As(err, &pe) {
					t.Fatalf("err = %v, want a *PayloadError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, p, cmpopts.IgnoreFields(Payload{}, "Raw")); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodePayloadCap(t *testing.T) {
	t.Parallel()
	big := `{"pad":"` + strings.Repeat("x", 2000) + `","commands":[]}`
	if _, err := DecodePayload(strings.NewReader(big), 1000); err == nil {
		t.Fatal("a payload over the cap was accepted")
	}
	if _, err := DecodePayload(strings.NewReader(big), 4000); err != nil {
		t.Fatal(err)
	}
}

func TestRunFolder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		p    Payload
		want string
	}{
		{Payload{Workspace: Workspace{Name: "demo-jaffle"}, ScheduleName: "daily_run", RunID: "63187"}, "demo-jaffle/daily_run/63187"},
		{Payload{Workspace: Workspace{UID: "uid1"}, UUID: "u-u"}, "uid1/unknown-schedule/u-u"},
		{Payload{Workspace: Workspace{Name: "../.."}, ScheduleName: "a/b", RunID: "CON"}, ".._/a_b/_CON"},
		{Payload{Workspace: Workspace{Name: "."}, ScheduleName: "x:y", RunID: "1 "}, "_/x_y/1"},
	}
	for _, tt := range tests {
		if got := RunFolder(&tt.p); got != tt.want {
			t.Errorf("RunFolder(%+v) = %q, want %q", tt.p, got, tt.want)
		}
	}
}

func TestSelected(t *testing.T) {
	t.Parallel()
	tests := []struct {
		globs []string
		path  string
		want  bool
	}{
		{DefaultArtifacts, "target/manifest.json", true},
		{DefaultArtifacts, "target/run_results.json", true},
		{DefaultArtifacts, "target/catalog.json", false},
		{DefaultArtifacts, "other/manifest.json", false},
		{[]string{"*"}, "target/deep/x.json", true},
		{[]string{"manifest.json"}, "sub/target/manifest.json", true},
		{[]string{"target/*.json"}, "target/sources.json", true},
	}
	for _, tt := range tests {
		if got := selected(tt.globs, tt.path); got != tt.want {
			t.Errorf("selected(%v, %q) = %v", tt.globs, tt.path, got)
		}
	}
}

// FuzzParsePayload: no panic on any input, and what is accepted is coherent.
func FuzzParsePayload(f *testing.F) {
	for _, name := range []string{"../testdata/paradime/completed.json", "../testdata/paradime/started.json"} {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"api_url":"u","commands":[{"id":"1","json_resources":[{"id":2,"path":"../x"}]}]}`))
	f.Add([]byte(`{"commands":[null,1,"x",{"id":1e400}]}`))
	f.Add([]byte(`{"event":"bolt.run.completed","api_url":"u","commands":[{"id":1},{"id":2,"json_resources":{}}]}`))
	f.Add([]byte(`{"api_url":"u","commands":[{"id":1,"id":1}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := ParsePayload(raw)
		if err != nil {
			var pe *PayloadError
			if !errors.As(err, &pe) || !errors.Is(err, ErrBadInput) {
				t.Fatalf("error %v is not a *PayloadError matching ErrBadInput", err)
			}
			return
		}
		// Accepted: one JSON value with no duplicate key anywhere.
		if v := jsontext.Value(raw).Clone(); v.Canonicalize() != nil {
			t.Fatal("accepted a payload jsontext refuses")
		}
		if p.Event != "" && p.Event != EventStarted && p.Event != EventCompleted {
			t.Fatalf("accepted event %q", p.Event)
		}
		usable := 0
		for _, c := range p.Commands {
			if c.Bad == "" {
				usable++
			} else if !strings.HasPrefix(c.Bad, "commands[") {
				t.Fatalf("bad command without its JSON path: %q", c.Bad)
			}
		}
		if len(p.Commands) > 0 && usable == 0 {
			t.Fatal("a payload with no usable command accepted")
		}
		if p.Started && len(p.Commands) != 0 {
			t.Fatal("started payload with commands")
		}
		if len(p.Commands) > 0 && p.APIURL == "" {
			t.Fatal("commands without an api_url accepted")
		}
		if f := RunFolder(p); strings.Count(f, "/") != 2 {
			t.Fatalf("RunFolder = %q", f)
		}
	})
}

func TestIDJSON(t *testing.T) {
	t.Parallel()
	for id, want := range map[ID]string{"193442": `193442`, "-1": `-1`, "abc": `"abc"`, "": `""`, "007": `"007"`, "+5": `"+5"`, "12.0": `"12.0"`, "99999999999999999999": `"99999999999999999999"`} {
		b, err := json.Marshal(id)
		if err != nil || string(b) != want {
			t.Errorf("Marshal(%q) = %s, %v; want %s", id, b, err, want)
		}
		var back ID
		if err := json.Unmarshal(b, &back); err != nil || back != id {
			t.Errorf("Unmarshal(%s) = %q, %v", b, back, err)
		}
	}
}

// The class of malformed payloads: a key boltfetch acts on with the wrong
// type, an unknown event, a duplicate key anywhere. When no command is
// usable the payload is bad input naming the JSON path; one bad command
// among good ones is kept as a bad command (reported as its item error).
func TestParsePayloadMalformed(t *testing.T) {
	t.Parallel()
	const good = `{"id":1,"api_query":"q","json_resources":[{"id":2,"path":"target/manifest.json","resource_query":"r"}]}`
	bad := []struct {
		name, in, path string
	}{
		{"commands null", `{"api_url":"u","commands":null}`, "commands"},
		{"commands an object", `{"api_url":"u","commands":{"id":1}}`, "commands"},
		{"commands a string", `{"api_url":"u","commands":"dbt run"}`, "commands"},
		{"commands holding a string", `{"api_url":"u","commands":["dbt run"]}`, "commands[0]"},
		{"commands holding null", `{"api_url":"u","commands":[null]}`, "commands[0]"},
		{"json_resources an object", `{"api_url":"u","commands":[{"id":1,"json_resources":{"id":2}}]}`, "commands[0].json_resources"},
		{"a resource that is a string", `{"api_url":"u","commands":[{"id":1,"json_resources":["target/manifest.json"]}]}`, "commands[0].json_resources[0]"},
		{"a resource path that is a number", `{"api_url":"u","commands":[{"id":1,"json_resources":[{"id":2,"path":7}]}]}`, "commands[0].json_resources[0].path"},
		{"a resource id that is an object", `{"api_url":"u","commands":[{"id":1,"json_resources":[{"id":{},"path":"p"}]}]}`, "commands[0].json_resources[0].id"},
		{"an api_query that is a number", `{"api_url":"u","commands":[{"id":1,"api_query":5}]}`, "commands[0].api_query"},
		{"a command id that is an array", `{"api_url":"u","commands":[{"id":[1]}]}`, "commands[0].id"},
		{"a return code that is text", `{"api_url":"u","commands":[{"id":1,"return_code":"zero"}]}`, "commands[0].return_code"},
		{"unknown event", `{"event":"bolt.run.deleted","api_url":"u","commands":[]}`, "event"},
		{"event of another type", `{"event":1,"api_url":"u","commands":[]}`, "event"},
		{"api_url of another type", `{"api_url":["u"],"commands":[` + good + `]}`, "api_url"},
		{"duplicate top-level key", `{"api_url":"u","api_url":"v","commands":[]}`, ""},
		{"duplicate nested key", `{"api_url":"u","commands":[{"id":1,"id":2}]}`, ""},
		{"duplicate key in an ignored object", `{"api_url":"u","extra":{"a":1,"a":2},"commands":[]}`, ""},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParsePayload([]byte(tt.in))
			var pe *PayloadError
			if !errors.As(err, &pe) || !errors.Is(err, ErrBadInput) {
				t.Fatalf("err = %v, want a *PayloadError matching ErrBadInput", err)
			}
			if pe.Path != tt.path {
				t.Errorf("path = %q, want %q (%v)", pe.Path, tt.path, err)
			}
			if tt.path != "" && !strings.Contains(err.Error(), tt.path+": ") {
				t.Errorf("error %q does not name %s", err, tt.path)
			}
		})
	}

	// Encodings JSON parsers would call "invalid character" at byte 0 are
	// named.
	for enc, in := range map[string][]byte{
		"gzip":                {0x1f, 0x8b, 8, 0},
		"byte order mark":     append([]byte{0xef, 0xbb, 0xbf}, `{"commands":[]}`...),
		"UTF-16 (with a byte": {0xff, 0xfe, '{', 0, '}', 0},
		"UTF-16":              {'{', 0, '}', 0},
		"UTF-32":              {0, 0, 0xfe, 0xff},
	} {
		_, err := ParsePayload(in)
		if !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), enc) {
			t.Errorf("%s: err = %v, want it named", enc, err)
		}
	}

	// One bad entry among good ones: kept, marked bad, in its place.
	for _, entry := range []string{`"dbt run"`, `null`, `{"id":3,"json_resources":{}}`, `{"id":3,"json_resources":[{"id":4,"path":7}]}`} {
		in := `{"api_url":"u","commands":[` + good + `,` + entry + `]}`
		p, err := ParsePayload([]byte(in))
		if err != nil {
			t.Fatalf("%s: %v", entry, err)
		}
		if len(p.Commands) != 2 || p.Commands[0].Bad != "" || !strings.HasPrefix(p.Commands[1].Bad, "commands[1]") {
			t.Errorf("%s: commands = %+v, want the second marked bad at commands[1]", entry, p.Commands)
		}
	}

	// No event is accepted (Paradime's examples have none), as are both
	// known events.
	for _, in := range []string{`{"api_url":"u","commands":[` + good + `]}`, `{"event":"bolt.run.completed","api_url":"u","commands":[` + good + `]}`, `{"event":"bolt.run.started"}`} {
		if _, err := ParsePayload([]byte(in)); err != nil {
			t.Errorf("%s: %v", in, err)
		}
	}
}
