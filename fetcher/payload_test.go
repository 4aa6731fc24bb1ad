package fetcher

import (
	"bytes"
	"encoding/json"
	"errors"
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
		{"unknown fields and wrong types ignored", `{"api_url":"u","extra":{"a":[1]},"workspace":"oops","schedule":{"name":"from-schedule"},"commands":[{"id":1,"json_resources":"nope","status":5}, 7, null]}`,
			&Payload{APIURL: "u", ScheduleName: "from-schedule", Commands: []Command{{ID: 1, RawID: "1", Status: "5"}}}, false},
		{"non-integer id kept raw", `{"api_url":"u","commands":[{"id":"abc"},{"id":1e300}]}`,
			&Payload{APIURL: "u", Commands: []Command{{RawID: "abc"}, {RawID: "1e300"}}}, false},
		{"null commands is started", `{"id":1,"commands":null}`, &Payload{RunID: "1", Started: true}, false},
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
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := ParsePayload(raw)
		if err != nil {
			return
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
