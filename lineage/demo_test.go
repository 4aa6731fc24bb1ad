package lineage

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/boltfetch/boltfetch/internal/demodata"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// demoExport exports the demo run (internal/demodata) to sink.
func demoExport(t *testing.T, sink Sink) {
	t.Helper()
	d := demodata.Run()
	run := Run{ID: strconv.FormatInt(d.ID, 10), Workspace: d.Workspace.Name, ScheduleName: d.ScheduleName, Status: d.Status, Start: d.Start, End: d.End}
	var cmds []Command
	for _, c := range d.Commands {
		lc := Command{ID: strconv.FormatInt(c.ID, 10), Command: c.Command, Status: c.Status, Start: c.Start, End: c.End,
			StdoutTail: Clip(c.Stdout, MaxErrorMessage), StderrTail: Clip(c.Stderr, MaxErrorMessage)}
		if c.ReturnCode != 0 {
			rc := c.ReturnCode
			lc.ReturnCode = &rc
		}
		for _, r := range c.Resources {
			switch filepath.Base(r.Path) {
			case "manifest.json":
				lc.Manifest = bytesOpener(r.Data)
			case "run_results.json":
				lc.RunResults = bytesOpener(r.Data)
			}
		}
		cmds = append(cmds, lc)
	}
	ex, err := New(Config{Now: fixedNow, Version: "test"}, sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := ex.Export(context.Background(), run, cmds); err != nil {
		t.Fatal(err)
	}
}

// TestDemoGolden pins the demo run's events: the failed model's FAIL with
// dbt's message, the 13 ABORTs naming their cause, datasets and the tests'
// assertions. Each event validates against the schemas.
func TestDemoGolden(t *testing.T) {
	sch := loadSchema(t)
	sink := &memSink{}
	demoExport(t, sink)
	var got bytes.Buffer
	for i, l := range sink.lines() {
		if err := sch.validate(l); err != nil {
			t.Fatalf("event %d: %v\n%s", i, err, l)
		}
		got.Write(l)
		got.WriteByte('\n')
	}
	golden := filepath.Join("testdata", "demo.golden.ndjson")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("events differ from %s (run with -update if the change is intended)", golden)
	}
	s := got.String()
	for _, want := range []string{
		`"eventType":"FAIL"`,
		`"message":"Database Error in model stg_dim_time`,
		`"eventType":"ABORT"`,
		`skipped because of upstream failure: model.`,
		`"dataQualityAssertions"`,
		`"success":true`,
		`"inputs":[{"namespace":`,
		`{"namespace":"bigquery","name":"capfractal.analytics_staging.stg_energy_vulnerability","inputFacets":{"dataQualityAssertions":`,
		`"outputs":[{"namespace":"postgres://unknown","name":"postgres.public.customers"}]`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("the demo events lack %s", want)
		}
	}
	if n := strings.Count(s, `"eventType":"ABORT"`); n != 13 {
		t.Errorf("%d ABORT events, want the 13 skips", n)
	}
}

// TestRunIDsStable exports the demo twice: the same run ids, in the same
// events, and no two runs share an id.
func TestRunIDsStable(t *testing.T) {
	a, b := &memSink{}, &memSink{}
	demoExport(t, a)
	demoExport(t, b)
	la, lb := a.lines(), b.lines()
	if len(la) != len(lb) {
		t.Fatalf("%d events, then %d", len(la), len(lb))
	}
	ids := map[string]string{}
	for i := range la {
		ra, rb := runIDOf(t, la[i]), runIDOf(t, lb[i])
		if ra != rb {
			t.Fatalf("event %d: run id %s, then %s", i, ra, rb)
		}
		job := jobOf(t, la[i])
		if prev, ok := ids[ra]; ok && prev != job {
			t.Errorf("run id %s is shared by jobs %s and %s", ra, prev, job)
		}
		ids[ra] = job
	}
	if RunID("paradime://x", "1", "2", "model.a.b") == RunID("paradime://x", "1", "2", "model.a.c") {
		t.Error("two nodes share a run id")
	}
	if RunID("paradime://x", "1", "", "") == RunID("paradime://y", "1", "", "") {
		t.Error("two namespaces share a run id")
	}
}
