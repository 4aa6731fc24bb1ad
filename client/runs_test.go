package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeListRuns(t *testing.T) {
	cases := []struct {
		name    string
		data    string
		want    []Run
		wantErr string // "" for none; a *GraphQLError's text or a substring
	}{
		{"page", `{"listBoltRuns":{"ok":true,"runs":[
			{"id":7,"state":"SUCCESS","actor":"Manual","actorEmail":null,"startDttm":"2024-01-31 00:00:00.000000","endDttm":"2024-01-31 00:00:30.000000","parentScheduleRunId":null,"gitInfo":{"branch":"main","commitHash":null,"pullRequestId":12}},
			{"id":"6","state":"RUNNING","startDttm":"2024-01-30 23:00:00.000000","endDttm":null,"parentScheduleRunId":"5","gitInfo":null}]}}`,
			[]Run{
				{ID: 7, State: "SUCCESS", Actor: "Manual", StartDttm: "2024-01-31 00:00:00.000000", EndDttm: "2024-01-31 00:00:30.000000", GitInfo: GitInfo{Branch: "main", PullRequestID: 12}},
				{ID: 6, State: "RUNNING", StartDttm: "2024-01-30 23:00:00.000000", ParentScheduleRunID: 5},
			}, ""},
		{"empty", `{"listBoltRuns":{"ok":true,"runs":[]}}`, []Run{}, ""},
		{"no ok field", `{"listBoltRuns":{"runs":[{"id":1,"state":"FAILED"}]}}`, []Run{{ID: 1, State: "FAILED"}}, ""},
		{"ok false", `{"listBoltRuns":{"ok":false,"runs":[]}}`, nil, "ok=false"},
		{"null root", `{"listBoltRuns":null}`, nil, "answered null"},
		{"null data", `null`, nil, "answered null"},
		{"id zero", `{"listBoltRuns":{"ok":true,"runs":[{"id":0,"state":"SUCCESS"}]}}`, nil, "no positive id"},
		{"id not a number", `{"listBoltRuns":{"ok":true,"runs":[{"id":"x","state":"SUCCESS"}]}}`, nil, "not an integer"},
		{"runs not a list", `{"listBoltRuns":{"ok":true,"runs":{}}}`, nil, "cannot unmarshal"},
		{"not an object", `[1,2]`, nil, "cannot unmarshal"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeListRuns(json.RawMessage(tc.data))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("runs (-want +got):\n%s", d)
			}
		})
	}
}

func TestDecodeRunSummary(t *testing.T) {
	got, err := decodeRunSummary(json.RawMessage(`{"boltRunStatus":{"ok":true,"state":"FAILED","commands":[
		{"id":193441,"command":"dbt seed","startDttm":"2023-10-15 16:44:19.886774","endDttm":"2023-10-15 16:44:29.552605","returnCode":0},
		{"id":"193442","command":"dbt run","startDttm":null,"endDttm":null,"returnCode":null}]}}`), 63187)
	if err != nil {
		t.Fatal(err)
	}
	want := &RunStatus{State: "FAILED", Commands: []RunCommand{
		{ID: 193441, Command: "dbt seed", StartDttm: "2023-10-15 16:44:19.886774", EndDttm: "2023-10-15 16:44:29.552605", ReturnCode: intp(0)},
		{ID: 193442, Command: "dbt run"},
	}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}

	for name, tc := range map[string]struct {
		data     string
		notFound bool
	}{
		"null root":     {`{"boltRunStatus":null}`, true},
		"null data":     {`null`, true},
		"empty data":    {``, true},
		"ok false":      {`{"boltRunStatus":{"ok":false,"state":"","commands":[]}}`, true},
		"no state":      {`{"boltRunStatus":{"ok":true,"commands":[]}}`, false},
		"command no id": {`{"boltRunStatus":{"ok":true,"state":"SUCCESS","commands":[{"command":"x"}]}}`, false},
		"bad commands":  {`{"boltRunStatus":{"ok":true,"state":"SUCCESS","commands":"x"}}`, false},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := decodeRunSummary(json.RawMessage(tc.data), 9)
			if err == nil {
				t.Fatal("no error")
			}
			var nf *NotFoundError
			if got := errors.As(err, &nf); got != tc.notFound {
				t.Fatalf("NotFoundError = %v, want %v (err %v)", got, tc.notFound, err)
			}
			if tc.notFound && (nf.Field != "boltRunStatus" || nf.ID != 9) {
				t.Errorf("NotFoundError names %s %d", nf.Field, nf.ID)
			}
		})
	}
}

func TestDecodeCommandResources(t *testing.T) {
	got, err := decodeCommandResources(json.RawMessage(`{"boltCommand":{"resources":[{"id":1,"path":"target/manifest.json"},{"id":"2","path":"target/run_results.json"}]}}`), 5)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]Resource{{1, "target/manifest.json"}, {2, "target/run_results.json"}}, got); d != "" {
		t.Error(d)
	}
	if got, err := decodeCommandResources(json.RawMessage(`{"boltCommand":{"resources":null}}`), 5); err != nil || got == nil || len(got) != 0 {
		t.Errorf("null resources: %v, %v; want an empty list", got, err)
	}
	var nf *NotFoundError
	if _, err := decodeCommandResources(json.RawMessage(`{"boltCommand":null}`), 5); !errors.As(err, &nf) {
		t.Errorf("null command: %v, want a NotFoundError", err)
	}
	if _, err := decodeCommandResources(json.RawMessage(`{"boltCommand":{"resources":[{"id":-1,"path":"x"}]}}`), 5); err == nil {
		t.Error("negative resource id accepted")
	}
}

// TestRunsOverHTTP checks the typed errors as the caller sees them: an
// unknown run by GraphQL error and by null, a bad page never sent.
func TestRunsOverHTTP(t *testing.T) {
	c, rec, _ := setup(t, func(w http.ResponseWriter, r *http.Request, attempt int, req gqlRequest) {
		switch {
		case strings.Contains(req.Query, "listBoltRuns"):
			writeJSON(w, 200, map[string]any{"data": map[string]any{"listBoltRuns": map[string]any{"ok": true, "runs": []any{map[string]any{"id": 3, "state": "SUCCESS"}}}}})
		case req.Variables["runId"] == float64(404):
			writeJSON(w, 200, map[string]any{"data": nil, "errors": []any{map[string]any{"message": "BoltScheduleRun matching query does not exist."}}})
		case req.Variables["runId"] == float64(405):
			writeJSON(w, 200, map[string]any{"data": map[string]any{"boltRunStatus": nil}})
		case strings.Contains(req.Query, "boltRunStatus"):
			writeJSON(w, 200, map[string]any{"data": map[string]any{"boltRunStatus": map[string]any{"state": "RUNNING", "commands": []any{}}}})
		default:
			writeJSON(w, 200, map[string]any{"data": map[string]any{"boltCommand": map[string]any{"resources": []any{}}}})
		}
	}, nil)
	ctx := context.Background()

	for _, bad := range [][2]int{{0, 0}, {0, 1001}, {-1, 10}} {
		if _, err := c.ListRuns(ctx, "s", bad[0], bad[1]); !errors.Is(err, ErrBadPage) {
			t.Errorf("ListRuns(offset %d, limit %d) = %v, want ErrBadPage", bad[0], bad[1], err)
		}
	}
	if rec.count() != 0 {
		t.Fatalf("%d requests sent for bad pages", rec.count())
	}
	runs, err := c.ListRuns(ctx, "daily", 1000, 1000)
	if err != nil || len(runs) != 1 || runs[0].ID != 3 {
		t.Fatalf("ListRuns = %v, %v", runs, err)
	}
	if v := rec.last().Variables; v["slug"] != "daily" || v["offset"] != float64(1000) || v["limit"] != float64(1000) {
		t.Errorf("variables sent: %v", v)
	}
	if strings.Contains(rec.last().Query, "stdout") {
		t.Error("listBoltRuns asks for stdout")
	}
	if _, err := c.ListRuns(ctx, "", 0, 1); err != nil || rec.last().Variables["slug"] != nil {
		t.Errorf("slug \"\" sent as %v (err %v), want null", rec.last().Variables["slug"], err)
	}

	for _, id := range []int64{404, 405} {
		_, err := c.RunSummary(ctx, id)
		var nf *NotFoundError
		if !errors.As(err, &nf) || nf.ID != id {
			t.Errorf("RunSummary(%d) = %v, want a NotFoundError for it", id, err)
		}
	}
	rs, err := c.RunSummary(ctx, 1)
	if err != nil || rs.State != "RUNNING" {
		t.Fatalf("RunSummary = %v, %v", rs, err)
	}
	if q := rec.last().Query; strings.Contains(q, "stdout") || strings.Contains(q, "stderr") {
		t.Errorf("RunSummary asks for output: %s", q)
	}
	if _, err := c.CommandResources(ctx, 8); err != nil {
		t.Fatal(err)
	}
	if q := rec.last().Query; strings.Contains(q, "stdout") || !strings.Contains(q, "resources") {
		t.Errorf("CommandResources query: %s", q)
	}
}

func TestFinished(t *testing.T) {
	for state, want := range map[string]bool{"": false, "STARTING": false, "RUNNING": false,
		"SUCCESS": true, "ERROR": true, "FAILED": true, "CANCELED": true, "SKIPPED": true} {
		if Finished(state) != want {
			t.Errorf("Finished(%q) = %v", state, !want)
		}
	}
}

// FuzzDecodeRuns feeds the pull-mode decoders arbitrary answers: they must
// return a value or an error, never panic, and never a run or resource
// without a positive id.
func FuzzDecodeRuns(f *testing.F) {
	f.Add([]byte(`{"listBoltRuns":{"ok":true,"runs":[{"id":7,"state":"SUCCESS","gitInfo":{"pullRequestId":"3"}}]}}`))
	f.Add([]byte(`{"boltRunStatus":{"state":"FAILED","commands":[{"id":"1","returnCode":1}]}}`))
	f.Add([]byte(`{"boltCommand":{"resources":[{"id":1,"path":"target/manifest.json"}]}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if runs, err := decodeListRuns(data); err == nil {
			for _, r := range runs {
				if r.ID <= 0 {
					t.Fatalf("run id %d accepted", r.ID)
				}
			}
		}
		if rs, err := decodeRunSummary(data, 1); err == nil {
			if rs.State == "" {
				t.Fatal("a run without state accepted")
			}
			for _, c := range rs.Commands {
				if c.ID <= 0 {
					t.Fatalf("command id %d accepted", c.ID)
				}
			}
		}
		if res, err := decodeCommandResources(data, 1); err == nil {
			for _, r := range res {
				if r.ID <= 0 {
					t.Fatalf("resource id %d accepted", r.ID)
				}
			}
		}
	})
}
