package lineage

import (
	"bytes"
	"context"
	"testing"

	"github.com/boltfetch/boltfetch/internal/dbtgen"
)

type countSink struct{ events, bytes int }

func (s *countSink) Open(context.Context) (Block, error) { return s, nil }
func (s *countSink) Add(_ context.Context, _ EventRef, line []byte) error {
	s.events++
	s.bytes += len(line) + 1
	return nil
}
func (s *countSink) Close(context.Context) error { return nil }
func (s *countSink) Abort()                      {}

// BenchmarkExport exports a generated 2,000-node command (manifest and
// run_results in memory). MB/s is of the two input files; events/op and
// NDJSON MB/op are reported too. The 120,000-node figures are
// internal/benchlineage's.
func BenchmarkExport(b *testing.B) {
	var m, rr bytes.Buffer
	if _, err := dbtgen.Write(&m, &rr, dbtgen.Spec{Nodes: 2000, Seed: 1, FailModels: 3, FailTests: 3, WarnTests: 3}); err != nil {
		b.Fatal(err)
	}
	mb, rb := m.Bytes(), rr.Bytes()
	b.SetBytes(int64(len(mb) + len(rb)))
	b.ReportAllocs()
	var sink countSink
	for b.Loop() {
		sink = countSink{}
		ex, _ := New(Config{Now: fixedNow}, &sink)
		if err := ex.Export(context.Background(), pairRun("failed"), []Command{{ID: "1", Status: "failed", Manifest: bytesOpener(mb), RunResults: bytesOpener(rb)}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(sink.events), "events/op")
	b.ReportMetric(float64(sink.bytes)/1e6, "NDJSON-MB/op")
}
