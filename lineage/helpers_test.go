package lineage

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/boltfetch/boltfetch/artifacts"
)

// memSink keeps every event line, for tests.
type memSink struct {
	mu     sync.Mutex
	blocks [][][]byte
}

func (s *memSink) Open(ctx context.Context) (Block, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blocks = append(s.blocks, nil)
	return &memBlock{s: s, i: len(s.blocks) - 1}, nil
}

func (s *memSink) lines() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out [][]byte
	for _, b := range s.blocks {
		out = append(out, b...)
	}
	return out
}

type memBlock struct {
	s *memSink
	i int
}

func (b *memBlock) Add(ctx context.Context, ref EventRef, line []byte) error {
	b.s.mu.Lock()
	b.s.blocks[b.i] = append(b.s.blocks[b.i], append([]byte(nil), line...))
	b.s.mu.Unlock()
	return nil
}
func (b *memBlock) Close(ctx context.Context) error { return nil }
func (b *memBlock) Abort()                          {}

func fileOpener(path string) artifacts.Opener {
	return func(ctx context.Context) (io.ReadCloser, error) { return os.Open(path) }
}

func bytesOpener(data []byte) artifacts.Opener {
	return func(ctx context.Context) (io.ReadCloser, error) {
		return io.NopCloser(bytesReader(data)), nil
	}
}

var fixedNow = func() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) }

// pairRun is a one-command run around a manifest/run_results pair.
func pairRun(status string) Run {
	return Run{ID: "42", Workspace: "acme", ScheduleName: "nightly", Status: status,
		Start: time.Date(2024, 5, 1, 6, 0, 0, 0, time.UTC), End: time.Date(2024, 5, 1, 6, 30, 0, 0, time.UTC)}
}

func bytesReader(b []byte) io.Reader { return &sliceReader{b: b} }

type sliceReader struct{ b []byte }

func (r *sliceReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

func runIDOf(t *testing.T, line []byte) string {
	t.Helper()
	var ev Event
	if err := json.Unmarshal(line, &ev); err != nil {
		t.Fatal(err)
	}
	return ev.Run.RunID
}

func jobOf(t *testing.T, line []byte) string {
	t.Helper()
	var ev Event
	if err := json.Unmarshal(line, &ev); err != nil {
		t.Fatal(err)
	}
	return ev.Job.Name
}

type jsonRaw = json.RawMessage

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func typeOf(t *testing.T, line []byte) string {
	t.Helper()
	var ev Event
	if err := json.Unmarshal(line, &ev); err != nil {
		t.Fatal(err)
	}
	return ev.EventType
}

func utf8ValidString(s string) bool { return utf8.ValidString(s) }
