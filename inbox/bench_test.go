package inbox

import (
	"context"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkEnqueue measures the group-committed intake without HTTP: 32
// senders at once, each delivery a distinct run with a 4 KiB payload, every
// one durably committed before Enqueue returns. It reports deliveries per
// second and the p99 of one Enqueue.
//
//	go test ./inbox -run '^$' -bench Enqueue -benchtime 5000x
func BenchmarkEnqueue(b *testing.B) {
	for _, name := range []string{"sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			cfg := Config{DataDir: b.TempDir()}
			if name == "postgres" {
				if os.Getenv(pgEnv) == "" {
					b.Skipf("%s is not set", pgEnv)
				}
				cfg = pgStore(b)
			}
			ib, err := Open(context.Background(), cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer ib.Close()
			payload := make([]byte, 4096)
			for i := range payload {
				payload[i] = 'a' + byte(i%26)
			}
			var next atomic.Int64
			var mu sync.Mutex
			lat := make([]time.Duration, 0, b.N)
			b.SetBytes(int64(len(payload)))
			b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0))) // 32 senders
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				for pb.Next() {
					id := next.Add(1)
					t0 := time.Now()
					if _, err := ib.Enqueue(context.Background(), id, payload); err != nil {
						b.Error(err)
						return
					}
					mine = append(mine, time.Since(t0))
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
			el := time.Since(start)
			b.StopTimer()
			slices.Sort(lat)
			if len(lat) > 0 {
				b.ReportMetric(float64(len(lat))/el.Seconds(), "deliveries/s")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			}
		})
	}
}
