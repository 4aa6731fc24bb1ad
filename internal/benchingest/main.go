// Command benchingest measures boltfetch serve's intake end to end: the
// webhook handler on a loopback listener in front of a real inbox (SQLite in
// a temporary data dir, and PostgreSQL when a DSN is given), with N distinct
// payloads posted by C concurrent senders over keep-alive connections. It
// reports accepted deliveries per second and the ack latency seen by the
// senders (p50, p90, p99, max), then checks that every delivery is in the
// inbox and that re-deliveries come back as duplicates.
//
//	go run ./internal/benchingest                        # SQLite: 5,000 payloads, 32 senders
//	go run ./internal/benchingest -runs 3 -postgres "$BOLTFETCH_TEST_POSTGRES"
//
// Beside each case it measures the baseline (-direct): the same payloads
// enqueued by goroutines calling the inbox directly, without HTTP. -runs
// repeats every case in turn and prints the medians; -parse id swaps the
// payload parser for a read of the id alone, to show the parse's share.
//
// The payload is Paradime's published completed example
// (testdata/paradime/completed.json, 3.7 KB) with its run id replaced. Run it
// from the repository root.
package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/boltfetch/boltfetch/fetcher"
	"github.com/boltfetch/boltfetch/inbox"
	"github.com/boltfetch/boltfetch/webhook"
)

const token = "benchingest-token-0123456789abcdef"

func main() {
	n := flag.Int("n", 5000, "distinct payloads to post")
	senders := flag.Int("senders", 32, "concurrent senders")
	warmup := flag.Int("warmup", 64, "payloads posted first, not measured")
	template := flag.String("payload", "testdata/paradime/completed.json", "payload template (its run id is replaced)")
	pg := flag.String("postgres", os.Getenv("BOLTFETCH_TEST_POSTGRES"), "also measure a PostgreSQL inbox on this DSN (default $BOLTFETCH_TEST_POSTGRES); a schema of its own is created and dropped")
	sqlite := flag.Bool("sqlite", true, "measure the SQLite inbox")
	direct := flag.Bool("direct", true, "also measure the baseline: the same payloads enqueued by the same number of goroutines calling the inbox directly, without HTTP")
	parseMode := flag.String("parse", "fetcher", "the intake's payload parser: fetcher (fetcher.ParsePayload, as boltfetch serve wires it) or id (a streaming read of the top-level id alone: the floor any parser costs, to show the full parse's share)")
	runs := flag.Int("runs", 1, "measure each case this many times, in turn, and print the medians")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	switch *parseMode {
	case "fetcher":
	case "id":
		parse = parseIDOnly
	default:
		fail(fmt.Errorf("-parse %q: fetcher or id", *parseMode))
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fail(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fail(err)
		}
		defer pprof.StopCPUProfile()
	}

	tmpl, err := os.ReadFile(*template)
	if err != nil {
		fail(fmt.Errorf("payload template (run from the repository root): %w", err))
	}
	if !bytes.Contains(tmpl, []byte(`"id": 63187,`)) {
		fail(errors.New("payload template: no run id 63187 to replace"))
	}
	fmt.Printf("benchingest: %d payloads of %d bytes, %d senders, %d warm-up, parser %s; loadavg %s\n",
		*n, len(tmpl), *senders, *warmup, *parseMode, loadavg())

	ctx := context.Background()
	// Each case is one measurement on a fresh inbox; the cases run in turn,
	// -runs times, so that a change of load hits them alike.
	type bcase struct {
		name   string
		direct bool
		open   func() (inbox.Config, func(), error)
	}
	var cases []bcase
	sqliteCfg := func() (inbox.Config, func(), error) {
		dir, err := os.MkdirTemp("", "benchingest-")
		return inbox.Config{DataDir: dir}, func() { os.RemoveAll(dir) }, err
	}
	pgCfg := func() (inbox.Config, func(), error) {
		dsn, drop, err := pgSchema(ctx, *pg)
		return inbox.Config{PostgresURL: dsn}, drop, err
	}
	if *sqlite {
		cases = append(cases, bcase{"sqlite", false, sqliteCfg})
		if *direct {
			cases = append(cases, bcase{"sqlite, no HTTP (baseline)", true, sqliteCfg})
		}
	}
	if *pg != "" {
		cases = append(cases, bcase{"postgres", false, pgCfg})
		if *direct {
			cases = append(cases, bcase{"postgres, no HTTP (baseline)", true, pgCfg})
		}
	}
	all := make([][]result, len(cases))
	for range *runs {
		for i, c := range cases {
			cfg, cleanup, err := c.open()
			if err != nil {
				fail(err)
			}
			var res result
			if c.direct {
				res, err = measureDirect(ctx, c.name, cfg, tmpl, *n, *senders, *warmup)
			} else {
				res, err = measure(ctx, c.name, cfg, tmpl, *n, *senders, *warmup)
			}
			cleanup()
			if err != nil {
				fail(err)
			}
			res.print()
			all[i] = append(all[i], res)
		}
	}
	if *runs > 1 {
		fmt.Println("medians:")
		for i, c := range cases {
			rate := func(r result) float64 { return float64(r.n) / r.elapsed.Seconds() }
			slices.SortFunc(all[i], func(a, b result) int { return cmp.Compare(rate(a), rate(b)) })
			med := rate(all[i][len(all[i])/2])
			p99s := make([]time.Duration, 0, len(all[i]))
			for _, r := range all[i] {
				p99s = append(p99s, r.pct(.99))
			}
			slices.Sort(p99s)
			fmt.Printf("  %s: %.0f accepted/s, ack p99 %.2f ms (%d runs)\n", c.name, med,
				float64(p99s[len(p99s)/2])/float64(time.Millisecond), len(all[i]))
		}
	}
	fmt.Printf("loadavg after: %s\n", loadavg())
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "benchingest:", err)
	os.Exit(1)
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return strings.TrimSpace(string(b))
}

// parse is the intake's parser (-parse).
var parse webhook.ParseFunc = parseFetcher

// parseFetcher is the adapter boltfetch serve wires: fetcher's decoder, and
// an integer run id.
func parseFetcher(body []byte) (int64, bool, error) {
	p, err := fetcher.ParsePayload(body)
	if err != nil {
		return 0, false, err
	}
	id, err := strconv.ParseInt(p.RunID, 10, 64)
	if err != nil || id <= 0 {
		return 0, false, errors.New("not a Bolt payload: no integer run id")
	}
	return id, p.Started, nil
}

// parseIDOnly reads the top-level "id" in one streaming pass and nothing
// else: not a usable parser (it checks nothing of a Bolt payload), but the
// floor of what any parser costs, so that the run shows the full parse's share
// of the intake.
func parseIDOnly(body []byte) (int64, bool, error) {
	dec := jsontext.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return 0, false, errors.New("not a JSON object")
	}
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			return 0, false, err
		}
		if name.String() != "id" {
			if err := dec.SkipValue(); err != nil {
				return 0, false, err
			}
			continue
		}
		v, err := dec.ReadValue()
		if err != nil {
			return 0, false, err
		}
		id, err := strconv.ParseInt(string(v), 10, 64)
		return id, false, err
	}
	return 0, false, errors.New("no id")
}

type result struct {
	name       string
	n          int
	elapsed    time.Duration
	lat        []time.Duration // sorted
	dupElapsed time.Duration
	dups       int
}

func (r result) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	i := int(float64(len(r.lat)-1) * p)
	return r.lat[i]
}

func (r result) print() {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
	fmt.Printf("%s: accepted %d in %v: %.0f accepted/s; ack p50 %s, p90 %s, p99 %s, max %s",
		r.name, r.n, r.elapsed.Round(time.Millisecond), float64(r.n)/r.elapsed.Seconds(),
		ms(r.pct(.50)), ms(r.pct(.90)), ms(r.pct(.99)), ms(r.lat[len(r.lat)-1]))
	if r.dups > 0 {
		fmt.Printf("; %d re-deliveries answered duplicate (%.0f/s)", r.dups, float64(r.dups)/r.dupElapsed.Seconds())
	}
	fmt.Println()
}

// measureDirect is the baseline: the same payloads, enqueued by as many
// goroutines calling the inbox directly, without HTTP, parsing or logging.
func measureDirect(ctx context.Context, name string, icfg inbox.Config, tmpl []byte, n, senders, warmup int) (result, error) {
	icfg.Logger = slog.New(slog.DiscardHandler)
	ib, err := inbox.Open(ctx, icfg)
	if err != nil {
		return result{}, fmt.Errorf("%s: open the inbox: %w", name, err)
	}
	defer ib.Close()
	payloads := makePayloads(tmpl, warmup+n)
	run := func(ps [][]byte, first int) ([]time.Duration, time.Duration, error) {
		return send(len(ps), senders, func(i int) error {
			res, err := ib.Enqueue(ctx, int64(1_000_000+first+i), ps[i])
			if err == nil && res.Duplicate {
				err = fmt.Errorf("run %d: a duplicate", res.RunID)
			}
			return err
		})
	}
	if _, _, err := run(payloads[:warmup], 0); err != nil {
		return result{}, fmt.Errorf("%s: warm-up: %w", name, err)
	}
	lat, elapsed, err := run(payloads[warmup:], warmup)
	if err != nil {
		return result{}, fmt.Errorf("%s: %w", name, err)
	}
	slices.Sort(lat)
	return result{name: name, n: n, elapsed: elapsed, lat: lat}, nil
}

func makePayloads(tmpl []byte, n int) [][]byte {
	payloads := make([][]byte, n)
	for i := range payloads {
		payloads[i] = bytes.Replace(tmpl, []byte(`"id": 63187,`), []byte(fmt.Sprintf(`"id": %d,`, 1_000_000+i)), 1)
	}
	return payloads
}

// measure opens the inbox, serves the intake in front of it on loopback,
// posts the payloads and checks the inbox afterwards.
func measure(ctx context.Context, name string, icfg inbox.Config, tmpl []byte, n, senders, warmup int) (result, error) {
	icfg.Logger = slog.New(slog.DiscardHandler)
	ib, err := inbox.Open(ctx, icfg)
	if err != nil {
		return result{}, fmt.Errorf("%s: open the inbox: %w", name, err)
	}
	defer ib.Close()

	// Logs at info, as serve writes them, into the void: their cost counts.
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	h, err := webhook.New(webhook.Config{Queue: ib, Parse: parse, Tokens: []string{token}, Logger: log})
	if err != nil {
		return result{}, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return result{}, err
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- h.Serve(sctx, ln) }()
	defer func() { stop(); <-served }()

	url := "http://" + ln.Addr().String() + "/webhooks/paradime"
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: senders, MaxIdleConnsPerHost: senders, MaxConnsPerHost: senders,
	}}
	payloads := makePayloads(tmpl, warmup+n)

	if _, _, err := post(client, url, payloads[:warmup], senders, http.StatusAccepted); err != nil {
		return result{}, fmt.Errorf("%s: warm-up: %w", name, err)
	}
	lat, elapsed, err := post(client, url, payloads[warmup:], senders, http.StatusAccepted)
	if err != nil {
		return result{}, fmt.Errorf("%s: %w", name, err)
	}
	depth, err := ib.Depth(ctx)
	if err != nil {
		return result{}, err
	}
	if depth[inbox.StateQueued] != warmup+n {
		return result{}, fmt.Errorf("%s: %d runs queued after %d accepted deliveries", name, depth[inbox.StateQueued], warmup+n)
	}
	dupN := min(n, 1000)
	_, dupElapsed, err := post(client, url, payloads[warmup:warmup+dupN], senders, http.StatusOK)
	if err != nil {
		return result{}, fmt.Errorf("%s: re-deliveries: %w", name, err)
	}
	slices.Sort(lat)
	return result{name: name, n: n, elapsed: elapsed, lat: lat, dups: dupN, dupElapsed: dupElapsed}, nil
}

// post sends every payload once, from senders goroutines, and returns each
// delivery's latency (request written to answer read) and the wall time. Any
// answer other than want is an error.
func post(client *http.Client, url string, payloads [][]byte, senders int, want int) ([]time.Duration, time.Duration, error) {
	return send(len(payloads), senders, func(i int) error {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(payloads[i]))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode != want {
			err = fmt.Errorf("answer %d, want %d", resp.StatusCode, want)
		}
		return err
	})
}

// send runs deliver(i) once for each i in [0, n), from senders goroutines,
// and returns each call's latency and the wall time. The first error stops
// the goroutine that met it and is returned.
func send(n, senders int, deliver func(i int) error) ([]time.Duration, time.Duration, error) {
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for range senders {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				err := deliver(i)
				lat[i] = time.Since(t0)
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		})
	}
	wg.Wait()
	return lat, time.Since(start), firstErr
}
