// Command benchanalyze measures `boltfetch analyze` against the naive
// baseline, encoding/json into structs, on a large generated pair, in one
// run: wall time, CPU and peak RSS of each, as child processes, alternating
// so that all see the same machine load.
//
//	go run ./internal/benchanalyze -dir /tmp/bigpair -nodes 120000 -fail-fraction 0.015 -runs 5
//
// generates dir/manifest-N-F.json (about 267 MB for 120,000 nodes) and
// dir/run_results-N-F.json (about 39 MB) when they are absent, builds
// boltfetch into dir three times (the default build; -tags
// disable_grpc_modules, without GCS's gRPC DirectPath; -tags nocloud,
// without the object-storage drivers), and prints a table with two
// baselines (the manifest alone, and both files, which is analyze's input),
// each peak RSS split into anonymous and file-backed memory, and the static
// floor of each build (the peak RSS of --version). With
// -fail-fraction 0.015 about 1% of the nodes fail (1,097) and 5,584 are
// skipped; 0 gives the few failures of the first benchmark. Linux only
// (peak RSS: the VmHWM of each child, see internal/benchproc).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/boltfetch/boltfetch/internal/benchproc"
	"github.com/boltfetch/boltfetch/internal/dbtgen"
)

func main() {
	// Child mode: the baseline, run in its own process so its RSS is its own.
	if len(os.Args) >= 3 && len(os.Args) <= 4 && os.Args[1] == "-naive" {
		if err := naiveDecode(os.Args[2:], os.Stdout); err != nil {
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

func run(dir string, nodes int, frac float64, runs int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	manifest := filepath.Join(dir, fmt.Sprintf("manifest-%d-%g.json", nodes, frac))
	runResults := filepath.Join(dir, fmt.Sprintf("run_results-%d-%g.json", nodes, frac))
	spec := dbtgen.Spec{Nodes: nodes, Seed: 1, WarnTests: 5, FailFraction: frac}
	if frac == 0 {
		spec.FailModels, spec.FailTests = 5, 5
	}
	truth, generated, err := benchproc.EnsurePair(manifest, runResults, spec)
	if err != nil {
		return err
	}
	if generated {
		fmt.Printf("generated: %v\n", truth.Counts)
	}
	mMB, rMB, err := benchproc.PairMB(manifest, runResults)
	if err != nil {
		return err
	}
	// Three builds of the CLI: the default one; one with -tags
	// disable_grpc_modules (cloud.google.com/go/storage's own tag: every
	// scheme kept, without the gRPC DirectPath balancers and the xDS
	// protos they bring); and one with -tags nocloud, without the
	// object-storage drivers. The drivers' package initialisation maps most
	// of every command's starting RSS (the static floor), as file-backed
	// pages of the executable.
	builds := []struct{ name, bin, tags string }{
		{"boltfetch analyze", filepath.Join(dir, "boltfetch"), ""},
		{"boltfetch analyze, -tags disable_grpc_modules build", filepath.Join(dir, "boltfetch-nogrpc"), "disable_grpc_modules"},
		{"boltfetch analyze, -tags nocloud build", filepath.Join(dir, "boltfetch-nocloud"), "nocloud"},
	}
	for _, b := range builds {
		if err := build(b.bin, b.tags); err != nil {
			return err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	fmt.Printf("manifest %s: %.1f MB, run_results: %.1f MB, %d nodes, %d runs each\n",
		manifest, mMB, rMB, nodes, runs)
	fmt.Printf("load average before: %s\n", benchproc.LoadAvg())
	defer func() { fmt.Printf("load average after: %s\n", benchproc.LoadAvg()) }()

	// The rows, each a child process, run alternately so that all see the
	// same machine load.
	rows := []struct {
		name string
		args []string
		ms   []benchproc.Measure
	}{
		{name: "encoding/json into structs, manifest only", args: []string{self, "-naive", manifest}},
		{name: "encoding/json into structs, manifest + run_results", args: []string{self, "-naive", manifest, runResults}},
	}
	for _, b := range builds {
		rows = append(rows, struct {
			name string
			args []string
			ms   []benchproc.Measure
		}{name: b.name + " (manifest + run_results)", args: []string{b.bin, "analyze", "--manifest", manifest, "--run-results", runResults, "--format", "json"}})
	}
	for i := range runs {
		for r := range rows {
			m, err := benchproc.Run(exec.Command(rows[r].args[0], rows[r].args[1:]...))
			if err != nil {
				return fmt.Errorf("%s (run %d): %w", rows[r].name, i+1, err)
			}
			rows[r].ms = append(rows[r].ms, m)
		}
	}
	// The static floor of each build: what it peaks at doing nothing.
	floors := make([]int64, len(builds))
	for i, b := range builds {
		if floors[i], err = floorKB(b.bin); err != nil {
			return err
		}
	}

	fmt.Println()
	fmt.Println("| approach | median time | best time | median CPU (user+sys) | peak RSS (max over runs) | of which anonymous / file-backed (sampled peaks) |")
	fmt.Println("| --- | --- | --- | --- | --- | --- |")
	for _, r := range rows {
		anon, file := benchproc.MaxPeakSplit(r.ms)
		fmt.Printf("| %s | %.2f s | %.2f s | %.2f s | %d MB | %d / %d MB |\n", r.name, benchproc.Median(r.ms).Wall.Seconds(),
			benchproc.Best(r.ms).Seconds(), benchproc.MedianCPU(r.ms).Seconds(), benchproc.MaxPeakRSS(r.ms)/1024, anon/1024, file/1024)
	}
	fmt.Println()
	for i, b := range builds {
		fmt.Printf("static floor of %s: %d MB peak RSS for --version (max of 3, /usr/bin/time)\n", filepath.Base(b.bin), floors[i]/1024)
	}
	fmt.Println()
	for _, o := range rows[2:] {
		for _, n := range rows[:2] {
			fmt.Printf("%s vs %s: %.1fx median, %.1fx best\n", o.name, n.name,
				benchproc.Median(n.ms).Wall.Seconds()/benchproc.Median(o.ms).Wall.Seconds(),
				benchproc.Best(n.ms).Seconds()/benchproc.Best(o.ms).Seconds())
		}
	}
	fmt.Println("targets: >= 8x and <= 64 MB peak RSS")
	fmt.Println("(anonymous: what the process allocates; file-backed: mostly pages of the executable, mapped as package initialisation runs)")
	fmt.Println("(wall times depend on what else the machine runs: boltfetch uses both cores, the baseline one)")
	return nil
}

// floorKB is the peak RSS of `bin --version` in KiB, the most of three
// runs, as /usr/bin/time reports it: the process ends before benchproc's
// first look at its VmHWM, and the rusage of a child started by Go counts
// from its parent's peak.
func floorKB(bin string) (int64, error) {
	var peak int64
	for range 3 {
		out, err := exec.Command("/usr/bin/time", "-f", "%M", bin, "--version").CombinedOutput()
		if err != nil {
			return 0, fmt.Errorf("/usr/bin/time %s --version: %w: %s", bin, err, out)
		}
		lines := strings.Fields(string(out))
		kb, err := strconv.ParseInt(lines[len(lines)-1], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/usr/bin/time %s --version: %q: %w", bin, out, err)
		}
		peak = max(peak, kb)
	}
	return peak, nil
}

// build builds boltfetch into bin, with the given build tags.
func build(bin, tags string) error {
	args := []string{"build", "-o", bin}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	cmd := exec.Command("go", append(args, "github.com/boltfetch/boltfetch/cmd/boltfetch")...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build -tags %q: %w", tags, err)
	}
	return nil
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

// naiveResult is what a straightforward analysis would decode of each
// entry of run_results.
type naiveResult struct {
	UniqueID      string         `json:"unique_id"`
	Status        string         `json:"status"`
	Message       string         `json:"message"`
	Failures      *int64         `json:"failures"`
	ExecutionTime float64        `json:"execution_time"`
	ThreadID      string         `json:"thread_id"`
	CompiledCode  string         `json:"compiled_code"`
	RelationName  string         `json:"relation_name"`
	Adapter       map[string]any `json:"adapter_response"`
	Timing        []struct {
		Name        string `json:"name"`
		StartedAt   string `json:"started_at"`
		CompletedAt string `json:"completed_at"`
	} `json:"timing"`
}

type naiveRunResults struct {
	Metadata struct {
		DbtVersion   string `json:"dbt_version"`
		InvocationID string `json:"invocation_id"`
	} `json:"metadata"`
	Results     []naiveResult `json:"results"`
	ElapsedTime float64       `json:"elapsed_time"`
}

// naiveDecode decodes the manifest, and run_results when a second path is
// given, with encoding/json into structs: the baseline of the issue. The
// analysis that would follow (the graph walk) is not done, which flatters
// the baseline.
func naiveDecode(paths []string, w io.Writer) error {
	var m naiveManifest
	if err := decodeFile(paths[0], &m); err != nil {
		return err
	}
	var rr naiveRunResults
	if len(paths) > 1 {
		if err := decodeFile(paths[1], &rr); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "decoded %d nodes, %d parent_map entries, %d results\n", len(m.Nodes), len(m.ParentMap), len(rr.Results))
	return err
}

func decodeFile(path string, v any) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := json.NewDecoder(f).Decode(v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
