// Command benchfollow measures `boltfetch fetch` on a large follow-up, as
// processes: the fake Bolt API (internal/fakebolt/cmd/fakebolt) runs in a
// process of its own with 100 ms of latency per call and 100 MB/s per
// connection, serving a run of 8 commands, each with a 29 MB manifest, a
// 4.3 MB run_results and 1 MB of stdout; boltfetch is built and run against
// it with --concurrency 32. Its CPU seconds (user + system) and peak RSS
// come from the child (CPU from its rusage, peak RSS its VmHWM: see
// internal/benchproc), so nothing of the fake or of this program is counted.
//
//	go run ./internal/benchfollow -runs 5
//
// It also measures the critical path, the least any follow-up can take:
// one resource query, plus the download of the largest artifact, plus its
// analysis (`boltfetch analyze` on the downloaded file, as a process), and
// prints the follow-up's wall time against it. With -compare it runs the
// other binary just before each follow-up and also prints the median of the
// paired differences, steadier than the difference of the medians when
// other work loads the machine. Linux only (rusage, /proc).
package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/boltfetch/boltfetch/client"
	"github.com/boltfetch/boltfetch/internal/benchproc"
)

const (
	key    = "bench-key"
	secret = "bench-secret"
)

func main() {
	dir := flag.String("dir", filepath.Join(os.TempDir(), "boltfetch-benchfollow"), "folder for the binaries, the generated artifacts and the archives")
	runs := flag.Int("runs", 5, "follow-ups measured (and critical paths)")
	commands := flag.Int("commands", 8, "dbt commands in the run")
	nodes := flag.Int("nodes", 13650, "nodes in the generated project (13,650: a 29 MB manifest)")
	concurrency := flag.Int("concurrency", 32, "boltfetch fetch --concurrency")
	latency := flag.Duration("latency", 100*time.Millisecond, "the fake's latency per call and per download")
	bandwidth := flag.Int64("bandwidth", 100e6, "the fake's bytes per second per connection")
	compare := flag.String("compare", "", "another boltfetch binary (say, built from main) to measure alternately in the same run, as a baseline")
	flag.Parse()
	if err := run(*dir, *runs, *commands, *nodes, *concurrency, *latency, *bandwidth, *compare); err != nil {
		fmt.Fprintln(os.Stderr, "benchfollow:", err)
		os.Exit(1)
	}
}

func run(dir string, runs, commands, nodes, concurrency int, latency time.Duration, bandwidth int64, compare string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	bin, fake := filepath.Join(dir, "boltfetch"), filepath.Join(dir, "fakebolt")
	for out, pkg := range map[string]string{bin: "./cmd/boltfetch", fake: "./internal/fakebolt/cmd/fakebolt"} {
		if err := benchproc.Build(out, pkg); err != nil {
			return err
		}
	}
	data := filepath.Join(dir, "data")
	fb := exec.Command(fake, "-dir", data, "-commands", strconv.Itoa(commands), "-nodes", strconv.Itoa(nodes),
		"-latency", latency.String(), "-bandwidth", strconv.FormatInt(bandwidth, 10), "-key", key, "-secret", secret)
	srv, f, err := benchproc.StartServer("fakebolt", fb)
	if err != nil {
		return err
	}
	defer srv.Stop()
	if len(f) != 2 {
		return fmt.Errorf("fakebolt said ready %q", f)
	}
	apiURL, payload := f[0], f[1]
	manifest := filepath.Join(data, "manifest.json")
	runResults := filepath.Join(data, "run_results.json")
	mMB, rMB, err := benchproc.PairMB(manifest, runResults)
	if err != nil {
		return err
	}
	resID, err := largestResource(payload)
	if err != nil {
		return err
	}
	fmt.Printf("run: %d commands, each a %.1f MB manifest + %.1f MB run_results; fake: %s latency, %.0f MB/s per connection; --concurrency %d; %d runs\n",
		commands, mMB, rMB, latency, float64(bandwidth)/1e6, concurrency, runs)
	if la := benchproc.LoadAvg(); la != "" {
		fmt.Printf("load average at the start: %s\n", la)
	}

	fetch := func(bin string) (benchproc.Measure, error) {
		out := filepath.Join(dir, "archive")
		if err := os.RemoveAll(out); err != nil {
			return benchproc.Measure{}, err
		}
		cmd := exec.Command(bin, "fetch", "--out", out, "--concurrency", strconv.Itoa(concurrency),
			"--allow-host", "127.0.0.1", "--format", "json", "--log-level", "warn", payload)
		cmd.Env = append(os.Environ(), "PARADIME_API_KEY="+key, "PARADIME_API_SECRET="+secret, "PARADIME_API_ENDPOINT=")
		return benchproc.Run(cmd)
	}
	var follows, paths, baseline []benchproc.Measure
	for i := range runs {
		if compare != "" {
			m, err := fetch(compare)
			if err != nil {
				return fmt.Errorf("baseline %s (run %d): %w", compare, i+1, err)
			}
			baseline = append(baseline, m)
		}
		m, err := fetch(bin)
		if err != nil {
			return fmt.Errorf("boltfetch fetch (run %d): %w", i+1, err)
		}
		follows = append(follows, m)
		p, err := criticalPath(bin, apiURL, resID, runResults, filepath.Join(dir, "critical"))
		if err != nil {
			return fmt.Errorf("critical path (run %d): %w", i+1, err)
		}
		paths = append(paths, p)
	}
	fol, cp := benchproc.Median(follows), benchproc.Median(paths)
	fmt.Println()
	fmt.Println("| what | median wall | best wall | median CPU (user+sys) | peak RSS (max over runs) | anonymous / file-backed (sampled peaks) |")
	fmt.Println("| --- | --- | --- | --- | --- | --- |")
	fmt.Printf("| critical path (query + largest download + its analysis) | %d ms | %d ms | | | |\n", cp.Wall.Milliseconds(), benchproc.Best(paths).Milliseconds())
	row := func(name string, ms []benchproc.Measure) {
		anon, file := benchproc.MaxPeakSplit(ms)
		fmt.Printf("| %s | %d ms | %d ms | %.2f s | %d MB | %d / %d MB |\n", name, benchproc.Median(ms).Wall.Milliseconds(), benchproc.Best(ms).Milliseconds(),
			benchproc.MedianCPU(ms).Seconds(), benchproc.MaxPeakRSS(ms)/1024, anon/1024, file/1024)
	}
	if len(baseline) > 0 {
		row("baseline "+compare, baseline)
	}
	row(fmt.Sprintf("`boltfetch fetch --concurrency %d`", concurrency), follows)
	fmt.Printf("\nfollow-up / critical path: %.2fx median (target <= 1.5x); CPU %.2f s (target <= 1.3 s); peak RSS %d MB (target <= 150 MB)\n",
		fol.Wall.Seconds()/cp.Wall.Seconds(), benchproc.MedianCPU(follows).Seconds(), benchproc.MaxPeakRSS(follows)/1024)
	if len(baseline) > 0 {
		cpu, wall, less := benchproc.Paired(baseline, follows)
		fmt.Printf("paired with the baseline run just before it: CPU %+.3f s, wall %+d ms (medians of the differences); less CPU in %d of %d pairs\n",
			cpu.Seconds(), wall.Milliseconds(), less, len(follows))
	}
	if la := benchproc.LoadAvg(); la != "" {
		fmt.Printf("load average at the end: %s\n", la)
	}
	return nil
}

// largestResource finds the manifest resource of the payload's first
// command (every command has the same files).
func largestResource(payload string) (int64, error) {
	b, err := os.ReadFile(payload)
	if err != nil {
		return 0, err
	}
	var p struct {
		Commands []struct {
			Resources []struct {
				ID   int64  `json:"id"`
				Path string `json:"path"`
			} `json:"json_resources"`
		} `json:"commands"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return 0, err
	}
	for _, c := range p.Commands {
		for _, r := range c.Resources {
			if strings.HasSuffix(r.Path, "manifest.json") {
				return r.ID, nil
			}
		}
	}
	return 0, errors.New("no manifest in the payload")
}

// criticalPath times one resource query, the download of that artifact to
// a file with its SHA-256 (as the archive does), then `boltfetch analyze` of
// it with the run_results.
func criticalPath(bin, apiURL string, resID int64, runResults, dir string) (benchproc.Measure, error) {
	ctx := context.Background()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return benchproc.Measure{}, err
	}
	c, err := client.New(client.Config{APIKey: key, APISecret: secret, AllowHosts: []string{"127.0.0.1"}})
	if err != nil {
		return benchproc.Measure{}, err
	}
	bound, err := c.WithEndpoint(apiURL)
	if err != nil {
		return benchproc.Measure{}, err
	}
	start := time.Now()
	u, err := bound.ResourceURL(ctx, resID)
	if err != nil {
		return benchproc.Measure{}, err
	}
	resp, err := http.Get(u)
	if err != nil {
		return benchproc.Measure{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return benchproc.Measure{}, fmt.Errorf("download: HTTP %d", resp.StatusCode)
	}
	path := filepath.Join(dir, "manifest.json")
	f, err := os.Create(path)
	if err != nil {
		return benchproc.Measure{}, err
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(f, h), resp.Body)
	if err = errors.Join(err, f.Close()); err != nil {
		return benchproc.Measure{}, err
	}
	an := exec.Command(bin, "analyze", "--manifest", path, "--run-results", runResults, "--format", "json")
	if _, err := benchproc.Run(an); err != nil {
		return benchproc.Measure{}, err
	}
	return benchproc.Measure{Wall: time.Since(start)}, nil
}
