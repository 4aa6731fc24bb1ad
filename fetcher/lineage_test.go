package fetcher

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/boltfetch/boltfetch/archive"
	"github.com/boltfetch/boltfetch/internal/demodata"
	"github.com/boltfetch/boltfetch/internal/fakebolt"
	"github.com/boltfetch/boltfetch/lineage"
)

// TestFetchLineage follows the demo run up with Options.Lineage: one block
// of events after the archive is complete, with the run ids lineage.RunID
// gives the run, its commands and nodes; a command whose artifacts the
// analysis could not read sends its own events only, without a second
// error.
func TestFetchLineage(t *testing.T) {
	t.Parallel()
	run := demodata.Run()
	// The run command's run_results is not JSON: its analysis fails.
	run.Commands[2].Resources[1].Data = []byte("not json")
	srv := startFake(t, fakebolt.Options{}, run)
	st, dir := newStore(t)
	events := filepath.Join(t.TempDir(), "events.ndjson")
	sink, err := lineage.NewFileSink(events)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := lineage.New(lineage.Config{}, sink)
	if err != nil {
		t.Fatal(err)
	}
	opts := fastOpts(newClient(t), st)
	opts.Lineage = ex
	rep := fetch(t, payloadOf(t, srv, run.ID), opts)
	checkArchivedExact(t, dir, rep.Archive.Folder, run)
	for _, e := range rep.Errors {
		if e.Stage != StageAnalysis {
			t.Errorf("unexpected error %+v", e)
		}
	}
	if len(rep.Errors) != 1 {
		t.Fatalf("%d errors, want the one analysis error: %+v", len(rep.Errors), rep.Errors)
	}
	f, err := os.Open(events)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ids := map[string]bool{}
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev lineage.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		ids[ev.Run.RunID] = true
		n++
	}
	// Run and 4 commands (START + end each), and the build's 1 FAIL, 6
	// successes (START + end) and 13 ABORTs; none of the run command's nodes.
	if want := 2 + 8 + 2 + 2*(22-1-13) + 13; n != want {
		t.Errorf("%d events, want %d", n, want)
	}
	ns := "paradime://demo-jaffle"
	rid := strconv.FormatInt(run.ID, 10)
	for _, id := range []string{
		lineage.RunID(ns, rid, "", ""),
		lineage.RunID(ns, rid, strconv.FormatInt(demodata.CmdRun, 10), ""),
		lineage.RunID(ns, rid, strconv.FormatInt(demodata.CmdBuild, 10), "model.capstone_monthly.stg_dim_time"),
	} {
		if !ids[id] {
			t.Errorf("run id %s not sent", id)
		}
	}
}

// TestExportLineageCompressed: a follow-up archived with zstd exports the
// same events as a plain one (the artifacts and the failed command's log
// tail read through their .zst objects, as the report records them), and
// ExportLineage gives them again from the compressed archive.
func TestExportLineageCompressed(t *testing.T) {
	t.Parallel()
	run := demodata.Run()
	srv := startFake(t, fakebolt.Options{}, run)
	dir := t.TempDir()
	var events [3][]byte
	var zrep *Report
	var zst archive.Store
	for i, comp := range []string{"", archive.CompressionZstd} {
		st, _ := newStore(t)
		name := filepath.Join(dir, strconv.Itoa(i))
		sink, err := lineage.NewFileSink(name)
		if err != nil {
			t.Fatal(err)
		}
		ex, err := lineage.New(lineage.Config{}, sink)
		if err != nil {
			t.Fatal(err)
		}
		opts := fastOpts(newClient(t), st)
		opts.Lineage, opts.Compression = ex, comp
		rep := fetch(t, payloadOf(t, srv, run.ID), opts)
		if len(rep.Errors) > 0 {
			t.Fatalf("compression %q: errors %+v", comp, rep.Errors)
		}
		for _, c := range rep.Commands {
			if len(c.Errors) > 0 {
				t.Fatalf("compression %q: command %s: %+v", comp, c.ID, c.Errors)
			}
		}
		if events[i], err = os.ReadFile(name); err != nil {
			t.Fatal(err)
		}
		zrep, zst = rep, st
	}
	if a := zrep.Commands[len(zrep.Commands)-1].Artifacts[0]; a.Compression != archive.CompressionZstd {
		t.Fatalf("not compressed: %+v", a)
	}
	name := filepath.Join(dir, "again")
	sink, err := lineage.NewFileSink(name)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := lineage.New(lineage.Config{}, sink)
	if err != nil {
		t.Fatal(err)
	}
	if errs := ExportLineage(context.Background(), ex, zrep, zst); len(errs) > 0 {
		t.Fatalf("ExportLineage: %+v", errs)
	}
	if events[2], err = os.ReadFile(name); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(events[0], []byte(`"errorMessage"`)) || bytes.Count(events[0], []byte("\n")) != 51 {
		t.Fatalf("the plain follow-up's events: %d lines", bytes.Count(events[0], []byte("\n")))
	}
	for i, what := range []string{"", "the zstd follow-up", "ExportLineage on the zstd archive"} {
		if i > 0 && !bytes.Equal(events[i], events[0]) {
			t.Errorf("%s: %d bytes of events, not the plain follow-up's %d", what, len(events[i]), len(events[0]))
		}
	}
}
