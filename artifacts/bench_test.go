package artifacts

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
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

// BenchmarkAnalyzeFailures analyses a pair with about 1% of nodes failing
// and thousands skipped, from files, and writes the JSON (the work of
// `boltfetch analyze --format json`). BOLTFETCH_BENCH_MANIFEST and
// BOLTFETCH_BENCH_RUN_RESULTS name a bigger pair, such as the one
// internal/benchanalyze generates; by default 20,000 nodes are generated.
func BenchmarkAnalyzeFailures(b *testing.B) {
	mp, rp := os.Getenv("BOLTFETCH_BENCH_MANIFEST"), os.Getenv("BOLTFETCH_BENCH_RUN_RESULTS")
	if mp == "" || rp == "" {
		dir := b.TempDir()
		mp, rp = filepath.Join(dir, "manifest.json"), filepath.Join(dir, "run_results.json")
		mf, err := os.Create(mp)
		if err != nil {
			b.Fatal(err)
		}
		rf, err := os.Create(rp)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := dbtgen.Write(mf, rf, dbtgen.Spec{Nodes: 20000, Seed: 1, FailFraction: 0.015}); err != nil {
			b.Fatal(err)
		}
		mf.Close()
		rf.Close()
	}
	var size int64
	for _, p := range []string{mp, rp} {
		fi, err := os.Stat(p)
		if err != nil {
			b.Fatal(err)
		}
		size += fi.Size()
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		a, err := AnalyzeFiles(context.Background(), mp, rp, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := a.WriteJSON(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
