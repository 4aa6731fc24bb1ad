package artifacts

import (
	"bytes"
	"context"
	"testing"

	"github.com/boltfetch/boltfetch/internal/dbtgen"
)

// BenchmarkAnalyze measures the whole analysis on a generated project of
// about 22 MB (10,000 nodes); MB/s counts both files.
func BenchmarkAnalyze(b *testing.B) {
	var mb, rb bytes.Buffer
	if _, err := dbtgen.Write(&mb, &rb, dbtgen.Spec{Nodes: 10000, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		opts Options
	}{
		{"default", Options{}},
		{"validate", Options{Validate: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(mb.Len() + rb.Len()))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Analyze(context.Background(), bytes.NewReader(mb.Bytes()), bytes.NewReader(rb.Bytes()), bc.opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func generatedManifest(b *testing.B, nodes int) []byte {
	var mb, rb bytes.Buffer
	if _, err := dbtgen.Write(&mb, &rb, dbtgen.Spec{Nodes: nodes, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	return mb.Bytes()
}

// BenchmarkRunResults measures the run_results reader alone.
func BenchmarkRunResults(b *testing.B) {
	var mb, rb bytes.Buffer
	if _, err := dbtgen.Write(&mb, &rb, dbtgen.Spec{Nodes: 10000, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(rb.Len()))
	b.ReportAllocs()
	for b.Loop() {
		set := newReportedSet()
		if _, err := readRunResults(context.Background(), bytes.NewReader(rb.Bytes()), "run_results", 1<<30, set); err != nil {
			b.Fatal(err)
		}
	}
}
