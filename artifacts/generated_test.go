package artifacts

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/boltfetch/boltfetch/internal/dbtgen"
	"github.com/google/go-cmp/cmp"
)

// TestGeneratedProject checks the analysis of a generated project against
// the generator's truth, computed by simulating a dbt build, in each way the
// manifest can be read: with pending nodes kept as bytes, with none (wait for
// run_results), and validated.
func TestGeneratedProject(t *testing.T) {
	var mb, rb bytes.Buffer
	truth, err := dbtgen.Write(&mb, &rb, dbtgen.Spec{Nodes: 5000, Seed: 3, FailModels: 6, FailTests: 6, WarnTests: 4})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		opts Options
		// slowRR delays run_results so that the manifest pass meets nodes
		// before knowing whether they are reported.
		slowRR bool
	}{
		{"default", Options{}, false},
		{"pending offsets", Options{}, true},
		{"pending bytes", Options{MaxPendingBytes: 1 << 20}, true},
		{"tiny pending budget", Options{MaxPendingBytes: 100}, true},
		{"no pending", Options{MaxPendingBytes: -1}, true},
		{"validate", Options{Validate: true}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var rr io.Reader = bytes.NewReader(rb.Bytes())
			if tt.slowRR {
				rr = &slowReader{r: rr, gate: make(chan struct{})}
			}
			// A *bytes.Reader can be read again at an offset, so pending nodes
			// are kept as offsets; wrapped, it cannot, so they are kept as
			// bytes within the budget.
			var m io.Reader = bytes.NewReader(mb.Bytes())
			if tt.name != "default" && tt.name != "pending offsets" {
				m = &gateReader{r: m, open: rr}
			} else if tt.slowRR {
				close(rr.(*slowReader).gate)
			}
			a, err := Analyze(context.Background(), m, rr, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			checkTruth(t, a, truth)
		})
	}
}

func checkTruth(t *testing.T, a *Analysis, truth dbtgen.Truth) {
	t.Helper()
	if diff := cmp.Diff(truth.Counts, a.Counts); diff != "" {
		t.Errorf("counts (-truth +analysis):\n%s", diff)
	}
	got := map[string]string{}
	for _, list := range [][]Node{a.Failed, a.Warned, a.Skipped} {
		for _, n := range list {
			got[n.UniqueID] = n.Status
			if n.OriginalFilePath == "" || n.ResourceType == "" || n.PackageName == "" {
				t.Errorf("%s lacks manifest detail: %+v", n.UniqueID, n)
			}
			if n.ResourceType == "test" && (n.AttachedNode == "" || n.TestName == "" || n.Severity == "") {
				t.Errorf("test %s lacks test detail: %+v", n.UniqueID, n)
			}
			if n.Owner == "" {
				t.Errorf("%s lacks its owner", n.UniqueID)
			}
		}
	}
	want := map[string]string{}
	for id, st := range truth.Status {
		if st != "pass" && st != "success" {
			want[id] = st
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reported (-truth +analysis):\n%s", diff)
	}
	for _, n := range a.Skipped {
		if diff := cmp.Diff(truth.CausedBy[n.UniqueID], n.CausedBy); diff != "" {
			t.Errorf("caused_by of %s (-truth +analysis):\n%s", n.UniqueID, diff)
		}
	}
	if !a.SameInvocation || a.InvocationID != truth.InvocationID {
		t.Errorf("invocation %q same=%v, want %q", a.InvocationID, a.SameInvocation, truth.InvocationID)
	}
}

// slowReader holds its reads until its gate opens.
type slowReader struct {
	r    io.Reader
	gate chan struct{}
}

func (s *slowReader) Read(p []byte) (int, error) {
	<-s.gate
	return s.r.Read(p)
}

// gateReader opens the slowReader once the manifest's first chunk has been
// read, so that the manifest pass starts ahead of run_results. (Opening it
// later could deadlock a pass that waits for run_results.)
type gateReader struct {
	r    io.Reader
	open io.Reader
	done bool
}

func (g *gateReader) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if !g.done {
		g.done = true
		if s, ok := g.open.(*slowReader); ok {
			close(s.gate)
		}
	}
	return n, err
}

// TestPendingNodes drives the manifest pass while run_results is not known
// at all, then completes the set: every reported node must still get its
// detail, whether pending nodes were kept as offsets or as bytes.
func TestPendingNodes(t *testing.T) {
	var mb, rb bytes.Buffer
	truth, err := dbtgen.Write(&mb, &rb, dbtgen.Spec{Nodes: 800, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	for _, asOffsets := range []bool{true, false} {
		set := newReportedSet()
		var r io.Reader = bytes.NewReader(mb.Bytes())
		if !asOffsets {
			r = struct{ io.Reader }{r} // hide ReadAt
		}
		m, err := readManifest(context.Background(), r, "manifest", Options{MaxPendingBytes: 1 << 30}.withDefaults(), set)
		if err != nil {
			t.Fatal(err)
		}
		if m.pendingCount() != 800 || len(m.details) != 0 {
			t.Fatalf("offsets=%v: %d pending, %d details; want all pending", asOffsets, m.pendingCount(), len(m.details))
		}
		if (len(m.pending) == 0) != asOffsets {
			t.Errorf("offsets=%v: pending kept the wrong way", asOffsets)
		}
		want := 0
		for id, st := range truth.Status {
			if classOf(st) != classNone {
				set.add(id, classOf(st))
				want++
			}
		}
		close(set.done)
		m.resolvePending(set)
		if len(m.details) != want {
			t.Errorf("offsets=%v: %d details, want %d", asOffsets, len(m.details), want)
		}
		for h, d := range m.details {
			if id := d.UniqueID; set.hash(id) != h || d.OriginalFilePath == "" {
				t.Errorf("offsets=%v: detail of %s = %+v", asOffsets, id, d)
			}
		}
	}
}
