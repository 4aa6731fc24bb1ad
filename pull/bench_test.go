package pull_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/boltfetch/boltfetch/archive"
	"github.com/boltfetch/boltfetch/client"
	"github.com/boltfetch/boltfetch/fetcher"
	"github.com/boltfetch/boltfetch/internal/fakebolt"
	"github.com/boltfetch/boltfetch/pull"
)

// BenchmarkBackfill measures one backfill of 100 tiny runs (one command,
// manifest + run_results, logs) against the fake at 100 ms per API call and
// per download, wired as the CLI wires it: K runs at once sharing one limit
// of C requests in flight (fetcher.Limiter). It reports runs/s.
//
//	go test ./pull -run '^$' -bench Backfill -benchtime 1x
func BenchmarkBackfill(b *testing.B) {
	const n = 100
	newest := time.Date(2024, 1, 31, 0, 0, 0, 0, time.UTC)
	runs := tiny(n, newest)
	fake := fakebolt.New(fakebolt.Options{APIKey: key, APISecret: secret, Latency: 100 * time.Millisecond})
	fake.AddRuns(runs)
	if err := fake.Start(); err != nil {
		b.Fatal(err)
	}
	defer fake.Close()
	for _, c := range []struct{ runs, requests int }{{2, 8}, {8, 32}, {32, 64}} {
		b.Run(fmt.Sprintf("runs-concurrency=%d/concurrency=%d", c.runs, c.requests), func(b *testing.B) {
			var took time.Duration
			for range b.N {
				limit := fetcher.NewLimiter(c.requests)
				api, err := client.New(client.Config{
					Endpoint: fake.APIURL(), APIKey: key, APISecret: secret,
					HTTPClient: &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
				})
				if err != nil {
					b.Fatal(err)
				}
				store, err := archive.NewLocal(b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				fopts := fetcher.Options{Client: api, Archive: store, HTTPClient: fetcher.NewDownloadClient(), Concurrency: c.requests, Limiter: limit}
				follow := func(ctx context.Context, _ int64, payload []byte) (bool, error) {
					rep, err := fetcher.Fetch(ctx, bytes.NewReader(payload), fopts)
					if err != nil {
						return false, err
					}
					return rep.Summary.Complete, nil
				}
				began := time.Now()
				sum, err := pull.Backfill(context.Background(), pull.Options{
					API: api, Store: store, FollowUp: follow, APIURL: fake.APIURL(), Schedules: []string{"hourly"},
					Since: newest.Add(-n * time.Hour), RunsConcurrency: c.runs, Limiter: limit,
				})
				took += time.Since(began)
				store.Close()
				if err != nil || sum.FollowedUp != n {
					b.Fatalf("%+v %v", sum, err)
				}
			}
			b.ReportMetric(float64(n*b.N)/took.Seconds(), "runs/s")
		})
	}
}
