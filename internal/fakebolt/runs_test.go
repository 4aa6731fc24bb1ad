package fakebolt

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"
)

type listedRun struct {
	ID        int64   `json:"id"`
	State     string  `json:"state"`
	StartDttm *string `json:"startDttm"`
}

func listRuns(t *testing.T, s *Server, slug string, offset, limit int) ([]listedRun, gqlResponse) {
	t.Helper()
	r := query(t, s, fmt.Sprintf(`query { listBoltRuns(slug: %q, offset: %d, limit: %d) { ok runs { id state startDttm } } }`, slug, offset, limit))
	if len(r.Errors) > 0 {
		return nil, r
	}
	var page struct {
		OK   bool        `json:"ok"`
		Runs []listedRun `json:"runs"`
	}
	field(t, r, "listBoltRuns", &page)
	if !page.OK {
		t.Fatal("ok=false")
	}
	return page.Runs, r
}

// TestListRunsPaging: 2,500 cheap runs come back in three pages, newest
// first, each once; the limit is enforced; other schedules are not mixed in.
func TestListRunsPaging(t *testing.T) {
	s := newServer(t, Options{})
	shared := []byte(`{"shared":true}`)
	runs := TinyRuns(TinyRunsOptions{N: 2500, Schedule: "hourly", Manifest: shared, RunResults: shared})
	s.AddRuns(runs)
	if &runs[0].Commands[0].Resources[0].Data[0] != &runs[2499].Commands[0].Resources[0].Data[0] {
		t.Error("tiny runs do not share their artifact bytes")
	}
	var all []listedRun
	for offset := 0; ; offset += 1000 {
		page, _ := listRuns(t, s, "hourly", offset, 1000)
		all = append(all, page...)
		if len(page) < 1000 {
			if offset != 2000 || len(page) != 500 {
				t.Errorf("last page at offset %d has %d runs", offset, len(page))
			}
			break
		}
	}
	if len(all) != 2500 {
		t.Fatalf("%d runs listed", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].ID >= all[i-1].ID || *all[i].StartDttm >= *all[i-1].StartDttm {
			t.Fatalf("not newest first at %d: %+v after %+v", i, all[i], all[i-1])
		}
	}
	if all[0].ID != runs[2499].ID || all[2499].ID != runs[0].ID {
		t.Errorf("first %d, last %d", all[0].ID, all[2499].ID)
	}
	for _, limit := range []int{0, 1001, -1} {
		if _, r := listRuns(t, s, "hourly", 0, limit); len(r.Errors) == 0 {
			t.Errorf("limit %d accepted", limit)
		}
	}
	if _, r := listRuns(t, s, "hourly", -1, 10); len(r.Errors) == 0 {
		t.Error("a negative offset accepted")
	}
	if page, _ := listRuns(t, s, "daily_run", 0, 1000); len(page) != 1 || page[0].ID != 63187 {
		t.Errorf("daily_run lists %+v", page)
	}
	if page, _ := listRuns(t, s, "nobody", 0, 1000); len(page) != 0 {
		t.Errorf("an unknown schedule lists %d runs", len(page))
	}

	// The artifacts of a tiny run are served.
	resp, body := get(t, resourceURL(t, s, runs[7].Commands[0].Resources[1].ID))
	if resp.StatusCode != 200 || !bytes.Equal(body, shared) {
		t.Errorf("artifact: %d %s", resp.StatusCode, body)
	}
}

// TestRunStates: a run in every state reports it through listBoltRuns and
// boltRunStatus alike, and SetRunStatus finishes a RUNNING run.
func TestRunStates(t *testing.T) {
	s := newServer(t, Options{})
	states := make([]string, 0, len(RunStates))
	for st := range RunStates {
		states = append(states, st)
	}
	slices.Sort(states)
	runs := TinyRuns(TinyRunsOptions{N: len(states), Schedule: "every"})
	for i, st := range states {
		runs[i].Status = RunStates[st]
	}
	s.AddRuns(runs)
	page, _ := listRuns(t, s, "every", 0, 100)
	got := map[int64]string{}
	for _, r := range page {
		got[r.ID] = r.State
	}
	for i, st := range states {
		if got[runs[i].ID] != st {
			t.Errorf("listBoltRuns: run %d is %q, want %s", runs[i].ID, got[runs[i].ID], st)
		}
		var rs struct {
			State    string `json:"state"`
			Commands []struct {
				ID int64 `json:"id"`
			} `json:"commands"`
		}
		field(t, query(t, s, fmt.Sprintf(`{ boltRunStatus(runId: %d) { state commands { id } } }`, runs[i].ID)), "boltRunStatus", &rs)
		if rs.State != st || len(rs.Commands) != 1 || rs.Commands[0].ID != runs[i].Commands[0].ID {
			t.Errorf("boltRunStatus(%d) = %+v, want %s with its command", runs[i].ID, rs, st)
		}
	}

	running := runs[slices.Index(states, "RUNNING")]
	if err := s.SetRunStatus(running.ID, "succeeded", time.Now()); err != nil {
		t.Fatal(err)
	}
	var rs struct {
		State string `json:"state"`
	}
	field(t, query(t, s, fmt.Sprintf(`{ boltRunStatus(runId: %d) { state } }`, running.ID)), "boltRunStatus", &rs)
	if rs.State != "SUCCESS" {
		t.Errorf("after SetRunStatus: %s", rs.State)
	}
	if err := s.SetRunStatus(1, "succeeded", time.Time{}); err == nil {
		t.Error("SetRunStatus of an unknown run succeeded")
	}
	if r := query(t, s, `{ boltRunStatus(runId: 424242) { state } }`); len(r.Errors) == 0 {
		t.Error("an unknown run answered without error")
	}
}
