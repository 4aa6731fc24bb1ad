package fakebolt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	graphql "github.com/graph-gophers/graphql-go"
	gqlerrors "github.com/graph-gophers/graphql-go/errors"
)

func TestBoltCommand(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{})
	var got map[string]any
	field(t, query(t, s, CommandQuery(193442)), "boltCommand", &got)
	want := map[string]any{
		"command":       "dbt run",
		"startDttm":     "2023-10-15 16:44:29.586366",
		"endDttm":       "2023-10-15 16:44:37.422950",
		"stdout":        runStdout(),
		"stderr":        "Encountered an error: 1 model failed\n",
		"returnCode":    float64(1),
		"scheduleRunId": float64(63187),
		"resources": []any{
			map[string]any{"id": float64(1205743), "path": "target/manifest.json"},
			map[string]any{"id": float64(1205761), "path": "target/run_results.json"},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("boltCommand (-want +got):\n%s", diff)
	}
}

func TestUnknownIDs(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{})
	for _, q := range []string{
		CommandQuery(1),
		ResourceQuery(2),
		`{ boltRunStatus(runId: 3) { state } }`,
		`{ boltCommandLogs(commandId: 4) { cursor } }`,
	} {
		r := query(t, s, q)
		if len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Message, "does not exist") {
			t.Errorf("%q: errors %+v, want one 'does not exist'", q, r.Errors)
		}
		for name, v := range r.Data {
			if string(v) != "null" {
				t.Errorf("%q: data.%s = %s, want null", q, name, v)
			}
		}
	}
}

func TestBoltResourceURL(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{})
	u := resourceURL(t, s, 1205731)
	if !strings.HasPrefix(u, s.URL()+"/artifacts/1205731/target/manifest.json?") {
		t.Errorf("url %q does not point at this server's artifact route", u)
	}
	for _, p := range []string{"X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Date=", "X-Amz-Expires=300", "X-Amz-Signature="} {
		if !strings.Contains(u, p) {
			t.Errorf("url lacks %s", p)
		}
	}

	run := SeedRun()
	run.ID, run.Commands = 7, run.Commands[3:]
	run.Commands[0].ID = 70
	run.Commands[0].Resources = []Resource{{ID: 71, Path: "target/manifest.json", Missing: true}}
	s.AddRun(run)
	var got struct {
		OK  bool    `json:"ok"`
		URL *string `json:"url"`
	}
	field(t, query(t, s, ResourceQuery(71)), "boltResourceUrl", &got)
	if got.OK || got.URL != nil {
		t.Errorf("missing resource: got %+v, want ok=false url=null", got)
	}
}

func TestBoltRunStatus(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{})
	var got struct {
		State    string `json:"state"`
		Commands []struct {
			ID         int    `json:"id"`
			Command    string `json:"command"`
			ReturnCode *int   `json:"returnCode"`
		} `json:"commands"`
	}
	field(t, query(t, s, `{ boltRunStatus(runId: 63187) { state commands { id command startDttm endDttm stdout stderr returnCode } } }`), "boltRunStatus", &got)
	if got.State != "FAILED" || len(got.Commands) != 4 || got.Commands[3].Command != "dbt run" || *got.Commands[3].ReturnCode != 1 {
		t.Errorf("boltRunStatus = %+v", got)
	}
}

func TestBoltCommandLogsPaging(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{LogPageSize: 100})
	var out, errs strings.Builder
	for i := range 250 {
		fmt.Fprintf(&out, "out %d\n", i)
	}
	errs.WriteString("err a\nerr b\n")
	s.AddRun(Run{ID: 9, Status: "running", Commands: []Command{{ID: 90, Command: "dbt build", Stdout: out.String(), Stderr: errs.String()}}})

	gotOut, gotErr, pages, cursor := pageLogs(t, s, 90, "0:0", 100)
	if pages != 3 || cursor != "250:2" {
		t.Errorf("finished after %d pages at cursor %q, want 3 pages at 250:2", pages, cursor)
	}
	if gotOut != out.String() || gotErr != errs.String() {
		t.Errorf("reassembled logs differ from the command's output")
	}
	r := query(t, s, `{ boltCommandLogs(commandId: 90, cursor: "x") { cursor } }`)
	if len(r.Errors) == 0 {
		t.Errorf("bad cursor accepted")
	}
}

func TestListBoltRuns(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{})
	s.AddRun(Run{ID: 70000, ScheduleName: "hourly", Status: "succeeded", ParentRunID: 63187, PullRequestID: 12, Branch: "feat"})
	s.AddRun(Run{ID: 70001, ScheduleName: "daily_run", Status: "running"})
	type run struct {
		ID      int    `json:"id"`
		State   string `json:"state"`
		GitInfo struct {
			Branch        *string `json:"branch"`
			PullRequestID *int    `json:"pullRequestId"`
		} `json:"gitInfo"`
		Parent *int `json:"parentScheduleRunId"`
	}
	list := func(args string) []run {
		var got struct {
			OK   bool  `json:"ok"`
			Runs []run `json:"runs"`
		}
		field(t, query(t, s, `{ listBoltRuns(`+args+`) { ok runs { id state actor actorEmail startDttm endDttm parentScheduleRunId gitInfo { branch commitHash pullRequestId } } } }`), "listBoltRuns", &got)
		return got.Runs
	}
	ids := func(rs []run) []int {
		var out []int
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	if diff := cmp.Diff([]int{70001, 70000, 63187}, ids(list("offset: 0, limit: 10"))); diff != "" {
		t.Errorf("all runs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{70001, 63187}, ids(list(`slug: "daily_run", offset: 0, limit: 10`))); diff != "" {
		t.Errorf("slug filter (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{70000}, ids(list("offset: 1, limit: 1"))); diff != "" {
		t.Errorf("paging (-want +got):\n%s", diff)
	}
	r := list("offset: 1, limit: 1")[0]
	if r.State != "SUCCESS" || r.Parent == nil || *r.Parent != 63187 || *r.GitInfo.Branch != "feat" || *r.GitInfo.PullRequestID != 12 {
		t.Errorf("run 70000 = %+v", r)
	}
	for _, bad := range []string{"offset: 0, limit: 0", "offset: 0, limit: 1001", "offset: -1, limit: 5"} {
		if resp := query(t, s, `{ listBoltRuns(`+bad+`) { ok } }`); len(resp.Errors) == 0 {
			t.Errorf("listBoltRuns(%s) accepted", bad)
		}
	}
}

func TestMutationsCounted(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{})
	r := query(t, s, `mutation { cancelBoltRun(runId: 63187) { ok } }`)
	if len(r.Errors) > 0 {
		t.Fatalf("mutation failed: %+v", r.Errors)
	}
	// Unauthorized: seen, never executed.
	resp, _ := post(t, s, `mutation { triggerBoltRun(scheduleName: "daily_run") { ok } }`, map[string]string{"X-API-SECRET": "wrong"})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unauthorized mutation: status %d", resp.StatusCode)
	}
	// A query is not a mutation.
	query(t, s, CommandQuery(193439))
	st := s.Stats()
	if st.MutationsExecuted != 1 || st.MutationsSeen != 2 {
		t.Errorf("MutationsExecuted=%d MutationsSeen=%d, want 1 and 2", st.MutationsExecuted, st.MutationsSeen)
	}
	if diff := cmp.Diff(map[string]int{"cancelBoltRun": 1, "triggerBoltRun": 1, "boltCommand": 1}, st.Operations); diff != "" {
		t.Errorf("Operations (-want +got):\n%s", diff)
	}
	s.ResetStats()
	if st := s.Stats(); st.MutationsExecuted != 0 || len(st.Operations) != 0 {
		t.Errorf("after ResetStats: %+v", st)
	}
}

func TestRootFieldsThroughFragments(t *testing.T) {
	t.Parallel()
	fields, mutation := inspectDocument(`query Q { ...F ... on Query { boltResourceUrl(resourceId: 1) { ok } } } fragment F on Query { boltCommand(commandId: 1) { command } }`, "")
	if diff := cmp.Diff([]string{"boltCommand", "boltResourceUrl"}, fields); diff != "" || mutation {
		t.Errorf("inspectDocument: mutation=%v fields (-want +got):\n%s", mutation, diff)
	}
	if _, m := inspectDocument(`query A { boltCommand(commandId: 1) { command } } mutation B { cancelBoltRun(runId: 1) { ok } }`, "B"); !m {
		t.Errorf("operation B not seen as a mutation")
	}
}

// pageLogs follows boltCommandLogs for a command from cursor start ("" sends
// no cursor, to test the default), checking that no page has more than
// maxLines lines, and returns the reassembled streams, the number of pages
// and the last cursor. It gives up after 10 pages.
func pageLogs(t *testing.T, s *Server, commandID int64, start string, maxLines int) (stdout, stderr string, pages int, cursor string) {
	t.Helper()
	var page struct {
		Lines []struct {
			Stream string `json:"stream"`
			Line   string `json:"line"`
		} `json:"lines"`
		Cursor   string `json:"cursor"`
		Finished bool   `json:"finished"`
	}
	var out, errs strings.Builder
	cursor = start
	for !page.Finished {
		if pages++; pages > 10 {
			t.Fatalf("boltCommandLogs not finished after 10 pages (cursor %q)", cursor)
		}
		q := fmt.Sprintf(`{ boltCommandLogs(commandId: %d) { lines { stream line } cursor finished } }`, commandID)
		if cursor != "" {
			q = fmt.Sprintf(`{ boltCommandLogs(commandId: %d, cursor: %q) { lines { stream line } cursor finished } }`, commandID, cursor)
		}
		page.Lines = nil
		field(t, query(t, s, q), "boltCommandLogs", &page)
		if len(page.Lines) > maxLines {
			t.Fatalf("page of %d lines, want at most %d", len(page.Lines), maxLines)
		}
		for _, l := range page.Lines {
			dst := &out
			if l.Stream == "STDERR" {
				dst = &errs
			}
			dst.WriteString(l.Line + "\n")
		}
		cursor = page.Cursor
	}
	return out.String(), errs.String(), pages, cursor
}

// TestEncodeResponse: the fake's answers are byte for byte what
// encoding/json (HTML left unescaped) makes of the engine's response, for
// the engine's own answers to a good and a bad query and for a response
// with every field.
func TestEncodeResponse(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{})
	ctx := context.WithValue(context.Background(), ctxKey{}, reqInfo{base: "http://127.0.0.1:1"})
	resps := []*graphql.Response{
		s.schema.Exec(ctx, CommandQuery(193442), "", nil),
		s.schema.Exec(ctx, `{ boltCommand(commandId: 1) { nope } }`, "", nil),
		s.schema.Exec(ctx, `{`, "", nil),
		{
			Errors:     []*gqlerrors.QueryError{{Message: "a <b> & c", Path: []any{"x", 1}}},
			Data:       json.RawMessage(`{"a":"\u003c\u0026","b":[1,2]}`),
			Extensions: map[string]any{"cost": 3, "note": "<&>"},
		},
		{},
	}
	for i, resp := range resps {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(resp); err != nil {
			t.Fatal(err)
		}
		got, err := encodeResponse(resp)
		if err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("response %d:\n got %.300q\nwant %.300q", i, got, want.String())
		}
	}
}
