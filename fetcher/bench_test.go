package fetcher

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/boltfetch/boltfetch/archive"
	"github.com/boltfetch/boltfetch/artifacts"
	"github.com/boltfetch/boltfetch/internal/dbtgen"
	"github.com/boltfetch/boltfetch/internal/fakebolt"
)

// nodesFor30MB makes a dbtgen manifest of about 30 MB (and a 4.4 MB
// run_results).
const nodesFor30MB = 13650

// genPair writes a consistent manifest + run_results pair into dir.
func genPair(tb testing.TB, dir string, nodes int) (manifest, runResults string, manifestBytes int64) {
	tb.Helper()
	manifest, runResults = filepath.Join(dir, "manifest.json"), filepath.Join(dir, "run_results.json")
	mf, err := os.Create(manifest)
	if err != nil {
		tb.Fatal(err)
	}
	rf, err := os.Create(runResults)
	if err != nil {
		tb.Fatal(err)
	}
	mw, rw := bufio.NewWriterSize(mf, 1<<20), bufio.NewWriterSize(rf, 1<<20)
	truth, err := dbtgen.Write(mw, rw, dbtgen.Spec{Nodes: nodes, Seed: 42})
	if err == nil {
		err = mw.Flush()
	}
	if err == nil {
		err = rw.Flush()
	}
	if err != nil {
		tb.Fatal(err)
	}
	mf.Close()
	rf.Close()
	return manifest, runResults, truth.ManifestBytes
}

// benchRun is a run of n dbt commands, each with the same generated
// manifest and run_results, served from disk.
func benchRun(n int, manifest, runResults string) fakebolt.Run {
	run := fakebolt.Run{ID: 7, Status: "failed", ScheduleName: "bench", Workspace: fakebolt.Workspace{Name: "ws"}}
	for i := range n {
		id := int64(1000 + i)
		run.Commands = append(run.Commands, fakebolt.Command{
			ID: id, Command: "dbt build", Status: "failed", ReturnCode: 1, Stdout: strings.Repeat("log line\n", 1000),
			Resources: []fakebolt.Resource{
				{ID: id*10 + 1, Path: "target/manifest.json", File: manifest},
				{ID: id*10 + 2, Path: "target/run_results.json", File: runResults},
			},
		})
	}
	return run
}

// heapPeak runs fn while sampling the heap every 2ms. It returns the peak of
// all heap objects (garbage not yet collected included: it depends on the
// GC's pacing) and the peak live heap as marked by each GC cycle during fn
// (what the program really holds).
func heapPeak(fn func()) (all, live uint64) {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(sample)
	startCycles := sample[2].Value.Uint64()
	read := func() {
		metrics.Read(sample)
		all = max(all, sample[0].Value.Uint64())
		if sample[2].Value.Uint64() > startCycles {
			live = max(live, sample[1].Value.Uint64())
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				read()
			}
		}
	}()
	fn()
	close(stop)
	wg.Wait()
	runtime.GC() // mark what fn left live, for a fn that never triggered a GC
	read()
	return all, live
}

// freshStore opens an empty archive under parent, removed by the returned
// func.
func freshStore(tb testing.TB, parent string) (*archive.Local, func()) {
	dir, err := os.MkdirTemp(parent, "archive-")
	if err != nil {
		tb.Fatal(err)
	}
	st, err := archive.NewLocal(dir)
	if err != nil {
		tb.Fatal(err)
	}
	return st, func() { st.Close(); os.RemoveAll(dir) }
}

// BenchmarkFollow measures the speed target: against the fake with
// 100 ms latency per call and per download and 100 MB/s per connection,
// 8 commands × (a 30 MB manifest + its run_results), follow-up with
// concurrency 32, compared with the critical path (one resource query + one
// download of the largest artifact + its analysis) and with a sequential
// follow-up (concurrency 1: one call after another, as a curl+jq script
// does). Run it with:
//
//	go test ./fetcher -run '^$' -bench Follow -benchtime 3x
func BenchmarkFollow(b *testing.B) {
	tmp := b.TempDir()
	manifest, runResults, mBytes := genPair(b, tmp, nodesFor30MB)
	run := benchRun(8, manifest, runResults)
	srv := startFake(b, fakebolt.Options{Latency: 100 * time.Millisecond, BytesPerSec: 100e6}, run)
	payload := payloadOf(b, srv, run.ID)
	c := newClient(b)
	ctx := context.Background()
	var critical, concurrent time.Duration

	b.Run("critical-path", func(b *testing.B) {
		bound, err := c.WithEndpoint(srv.APIURL())
		if err != nil {
			b.Fatal(err)
		}
		api := clientBolt{bound}
		dl := &downloader{http: NewDownloadClient(), maxSize: DefaultMaxArtifactSize, attempts: 1, idleTimeout: time.Minute, backoff: defaultBackoff, loopbackHTTP: true}
		res := run.Commands[0].Resources[0]
		b.SetBytes(mBytes)
		var total time.Duration
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			st, done := freshStore(b, tmp)
			b.StartTimer()
			start := time.Now()
			u, err := api.resourceURL(ctx, fakebolt.ResourceQuery(res.ID), res.ID)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := dl.fetch(ctx, st, "manifest.json", u, nil, nil, nil); err != nil {
				b.Fatal(err)
			}
			mf, err := st.Open(ctx, "manifest.json")
			if err != nil {
				b.Fatal(err)
			}
			rf, err := os.Open(runResults)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := defaultAnalyzer(ctx, mf, rf); err != nil {
				b.Fatal(err)
			}
			mf.Close()
			rf.Close()
			total += time.Since(start)
			b.StopTimer()
			done()
			b.StartTimer()
		}
		critical = total / time.Duration(b.N)
		b.ReportMetric(float64(critical.Milliseconds()), "ms/path")
	})

	follow := func(b *testing.B, concurrency int) time.Duration {
		b.SetBytes(8 * mBytes)
		var total time.Duration
		var peak, live uint64
		var streamed int
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			st, done := freshStore(b, tmp)
			b.StartTimer()
			start := time.Now()
			var rep *Report
			all, l := heapPeak(func() {
				rep = fetch(b, payload, Options{Client: c, Archive: st, Concurrency: concurrency})
			})
			total += time.Since(start)
			peak, live = max(peak, all), max(live, l)
			b.StopTimer()
			if !rep.Summary.Complete || rep.Summary.Analyses != 8 {
				b.Fatalf("incomplete follow-up: %+v", rep.Errors)
			}
			streamed += rep.Summary.AnalysesStreamed
			done()
			b.StartTimer()
		}
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		b.ReportMetric(float64(live)/(1<<20), "peak-live-MB")
		b.ReportMetric(float64(streamed)/float64(b.N), "streamed-analyses")
		return total / time.Duration(b.N)
	}
	b.Run("concurrent-32", func(b *testing.B) {
		concurrent = follow(b, 32)
		b.ReportMetric(float64(concurrent.Milliseconds()), "ms/follow")
		if critical > 0 {
			b.ReportMetric(float64(concurrent)/float64(critical), "x-critical-path")
		}
	})
	b.Run("sequential", func(b *testing.B) {
		seq := follow(b, 1)
		b.ReportMetric(float64(seq.Milliseconds()), "ms/follow")
		if concurrent > 0 {
			b.ReportMetric(float64(seq)/float64(concurrent), "x-slower-than-concurrent")
		}
	})
}

// BenchmarkFollowMemory checks that memory stays flat as artifacts grow:
// one command whose manifest is 10, 30, 90 and 270 MB, no latency, with the
// analysis (whose graph of node ids grows with the project) and without it
// (the download and archive path alone). Compare peak-live-MB across the
// sizes:
//
//	go test ./fetcher -run '^$' -bench FollowMemory -benchtime 2x
func BenchmarkFollowMemory(b *testing.B) {
	for _, size := range []struct {
		name  string
		nodes int
	}{{"10MB", nodesFor30MB / 3}, {"30MB", nodesFor30MB}, {"90MB", nodesFor30MB * 3}, {"270MB", nodesFor30MB * 9}} {
		for _, analyse := range []bool{true, false} {
			name := size.name
			if !analyse {
				name += "-archive-only"
			}
			b.Run(name, func(b *testing.B) {
				tmp := b.TempDir()
				manifest, runResults, mBytes := genPair(b, tmp, size.nodes)
				run := benchRun(1, manifest, runResults)
				srv := startFake(b, fakebolt.Options{}, run)
				payload := payloadOf(b, srv, run.ID)
				c := newClient(b)
				b.SetBytes(mBytes)
				var peak, live uint64
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					st, done := freshStore(b, tmp)
					b.StartTimer()
					var rep *Report
					opts := Options{Client: c, Archive: st}
					if !analyse {
						opts.Analyzer = func(context.Context, io.Reader, io.Reader) (*artifacts.Analysis, error) { return nil, nil }
					}
					all, l := heapPeak(func() { rep = fetch(b, payload, opts) })
					peak, live = max(peak, all), max(live, l)
					b.StopTimer()
					if !rep.Summary.Complete {
						b.Fatalf("incomplete: %+v", rep.Errors)
					}
					done()
					b.StartTimer()
				}
				b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
				b.ReportMetric(float64(live)/(1<<20), "peak-live-MB")
			})
		}
	}
}
