// Command benchanalyze measures `boltfetch analyze` against the naive
// baseline, decoding the manifest with encoding/json into structs, on a
// large generated pair, in one run: wall time and peak RSS of each, as child
// processes, alternating so that both see the same machine load.
//
//	go run ./internal/benchanalyze -dir /tmp/bigpair -nodes 120000 -fail-fraction 0.015 -runs 5
//
// generates dir/manifest-N-F.json (about 267 MB for 120,000 nodes) and
// dir/run_results-N-F.json (about 39 MB) when they are absent, builds
// boltfetch into dir, and prints a table. With -fail-fraction 0.015 about 1%
// of the nodes fail (1,097) and 5,584 are skipped; 0 gives the few failures
// of the first benchmark. Linux only (peak RSS from getrusage).
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/boltfetch/boltfetch/internal/dbtgen"
)

func main() {
	// Child mode: generate the pair. Not in this process: a child's max RSS
	// from getrusage starts from this process's peak when it forks (the
	// child shares its memory until exec), so this process must stay small.
	if len(os.Args) == 6 && os.Args[1] == "-generate" {
		var nodes int
		var frac float64
		fmt.Sscan(os.Args[4], &nodes)
		fmt.Sscan(os.Args[5], &frac)
		if err := generate(os.Args[2], os.Args[3], nodes, frac); err != nil {
			fmt.Fprintln(os.Stderr, "generate:", err)
			os.Exit(1)
		}
		return
	}
	// Child mode: the baseline, run in its own process so its RSS is its own.
	if len(os.Args) == 3 && os.Args[1] == "-naive" {
		if err := naiveDecode(os.Args[2], os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "naive:", err)
			os.Exit(1)
		}
		return
	}
	dir := flag.String("dir", filepath.Join(os.TempDir(), "boltfetch-bench"), "folder for the generated pair and the binary")
	nodes := flag.Int("nodes", 120000, "nodes in the generated project")
	runs := flag.Int("runs", 5, "runs of each approach")
	frac := flag.Float64("fail-fraction", 0.015, "fraction of nodes planned to fail (dbtgen.Spec.FailFraction); 0: 5 failing models and 5 failing tests")
	flag.Parse()
	if err := run(*dir, *nodes, *frac, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "benchanalyze:", err)
		os.Exit(1)
	}
}

type measure struct {
	wall   time.Duration
	cpu    time.Duration // user + system
	maxRSS int64         // KiB
}

func run(dir string, nodes int, frac float64, runs int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	manifest := filepath.Join(dir, fmt.Sprintf("manifest-%d-%g.json", nodes, frac))
	runResults := filepath.Join(dir, fmt.Sprintf("run_results-%d-%g.json", nodes, frac))
	if err := ensurePair(manifest, runResults, nodes, frac); err != nil {
		return err
	}
	mi, err := os.Stat(manifest)
	if err != nil {
		return err
	}
	ri, err := os.Stat(runResults)
	if err != nil {
		return err
	}
	bin := filepath.Join(dir, "boltfetch")
	build := exec.Command("go", "build", "-o", bin, "github.com/boltfetch/boltfetch/cmd/boltfetch")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build boltfetch: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	fmt.Printf("manifest %s: %.1f MB, run_results: %.1f MB, %d nodes, %d runs each\n",
		manifest, float64(mi.Size())/1e6, float64(ri.Size())/1e6, nodes, runs)
	loadavg := func() string {
		b, _ := os.ReadFile("/proc/loadavg")
		return strings.TrimSpace(string(b))
	}
	fmt.Printf("load average before: %s\n", loadavg())
	defer func() { fmt.Printf("load average after: %s\n", loadavg()) }()

	var ours, naive []measure
	for i := range runs {
		m, err := measureCmd(exec.Command(bin, "analyze", "--manifest", manifest, "--run-results", runResults, "--format", "json"))
		if err != nil {
			return fmt.Errorf("boltfetch analyze (run %d): %w", i+1, err)
		}
		ours = append(ours, m)
		m, err = measureCmd(exec.Command(self, "-naive", manifest))
		if err != nil {
			return fmt.Errorf("encoding/json baseline (run %d): %w", i+1, err)
		}
		naive = append(naive, m)
	}
	o, n := median(ours), median(naive)
	fmt.Println()
	fmt.Println("| approach | median time | best time | median CPU (user+sys) | peak RSS (max over runs) |")
	fmt.Println("| --- | --- | --- | --- | --- |")
	fmt.Printf("| encoding/json into structs (manifest only) | %.2f s | %.2f s | %.2f s | %d MB |\n", n.wall.Seconds(), best(naive).Seconds(), medianCPU(naive).Seconds(), maxRSS(naive)/1024)
	fmt.Printf("| boltfetch analyze (manifest + run_results) | %.2f s | %.2f s | %.2f s | %d MB |\n", o.wall.Seconds(), best(ours).Seconds(), medianCPU(ours).Seconds(), maxRSS(ours)/1024)
	fmt.Printf("\nspeed-up: %.1fx median, %.1fx best; targets: >= 8x and <= 64 MB peak RSS\n",
		n.wall.Seconds()/o.wall.Seconds(), best(naive).Seconds()/best(ours).Seconds())
	fmt.Println("(wall times depend on what else the machine runs: boltfetch uses both cores, the baseline one)")
	return nil
}

// ensurePair generates the pair unless both files already exist.
func ensurePair(manifest, runResults string, nodes int, frac float64) error {
	_, e1 := os.Stat(manifest)
	_, e2 := os.Stat(runResults)
	if e1 == nil && e2 == nil {
		return nil
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, "-generate", manifest, runResults, fmt.Sprint(nodes), fmt.Sprint(frac))
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}

// generate writes the pair with dbtgen (in a child process: see main).
func generate(manifest, runResults string, nodes int, frac float64) error {
	mf, err := os.Create(manifest)
	if err != nil {
		return err
	}
	rf, err := os.Create(runResults)
	if err != nil {
		mf.Close()
		return err
	}
	spec := dbtgen.Spec{Nodes: nodes, Seed: 1, WarnTests: 5, FailFraction: frac}
	if frac == 0 {
		spec.FailModels, spec.FailTests = 5, 5
	}
	truth, err := dbtgen.Write(mf, rf, spec)
	if err == nil {
		fmt.Printf("generated: %v\n", truth.Counts)
	}
	return errors.Join(err, mf.Close(), rf.Close())
}

func measureCmd(cmd *exec.Cmd) (measure, error) {
	cmd.Stdout = io.Discard
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return measure{}, err
	}
	m := measure{wall: time.Since(start)}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m.maxRSS = ru.Maxrss // KiB on Linux
		m.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return m, nil
}

func median(ms []measure) measure {
	s := slices.Clone(ms)
	slices.SortFunc(s, func(a, b measure) int { return int(a.wall - b.wall) })
	return s[len(s)/2]
}

func medianCPU(ms []measure) time.Duration {
	s := make([]time.Duration, len(ms))
	for i, m := range ms {
		s[i] = m.cpu
	}
	slices.Sort(s)
	return s[len(s)/2]
}

func best(ms []measure) time.Duration {
	b := ms[0].wall
	for _, m := range ms {
		b = min(b, m.wall)
	}
	return b
}

func maxRSS(ms []measure) int64 {
	var r int64
	for _, m := range ms {
		r = max(r, m.maxRSS)
	}
	return r
}

// naiveNode is what a straightforward analysis would decode of each node.
type naiveNode struct {
	UniqueID         string `json:"unique_id"`
	ResourceType     string `json:"resource_type"`
	Name             string `json:"name"`
	PackageName      string `json:"package_name"`
	OriginalFilePath string `json:"original_file_path"`
	RelationName     string `json:"relation_name"`
	Database         string `json:"database"`
	Schema           string `json:"schema"`
	Alias            string `json:"alias"`
	CompiledCode     string `json:"compiled_code"`
	CompiledSQL      string `json:"compiled_sql"`
	DependsOn        struct {
		Nodes []string `json:"nodes"`
	} `json:"depends_on"`
	Tags   []string       `json:"tags"`
	Meta   map[string]any `json:"meta"`
	Config struct {
		Severity string         `json:"severity"`
		Meta     map[string]any `json:"meta"`
	} `json:"config"`
	AttachedNode string `json:"attached_node"`
	ColumnName   string `json:"column_name"`
	TestMetadata struct {
		Name string `json:"name"`
	} `json:"test_metadata"`
}

type naiveManifest struct {
	Metadata struct {
		DbtVersion   string `json:"dbt_version"`
		InvocationID string `json:"invocation_id"`
	} `json:"metadata"`
	Nodes     map[string]naiveNode `json:"nodes"`
	UnitTests map[string]naiveNode `json:"unit_tests"`
	ParentMap map[string][]string  `json:"parent_map"`
}

// naiveDecode decodes the manifest with encoding/json into structs: the
// baseline of the issue.
func naiveDecode(path string, w io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var m naiveManifest
	if err := json.NewDecoder(f).Decode(&m); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	_, err = fmt.Fprintf(w, "decoded %d nodes, %d parent_map entries\n", len(m.Nodes), len(m.ParentMap))
	return err
}
