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
// of the first benchmark. Linux only (peak RSS: the VmHWM of each child, see
// internal/benchproc).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/boltfetch/boltfetch/internal/benchproc"
	"github.com/boltfetch/boltfetch/internal/dbtgen"
)

func main() {
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
	bin := filepath.Join(dir, "boltfetch")
	if err := benchproc.Build(bin, "github.com/boltfetch/boltfetch/cmd/boltfetch"); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	fmt.Printf("manifest %s: %.1f MB, run_results: %.1f MB, %d nodes, %d runs each\n",
		manifest, mMB, rMB, nodes, runs)
	fmt.Printf("load average before: %s\n", benchproc.LoadAvg())
	defer func() { fmt.Printf("load average after: %s\n", benchproc.LoadAvg()) }()

	var ours, naive []benchproc.Measure
	for i := range runs {
		m, err := benchproc.Run(exec.Command(bin, "analyze", "--manifest", manifest, "--run-results", runResults, "--format", "json"))
		if err != nil {
			return fmt.Errorf("boltfetch analyze (run %d): %w", i+1, err)
		}
		ours = append(ours, m)
		m, err = benchproc.Run(exec.Command(self, "-naive", manifest))
		if err != nil {
			return fmt.Errorf("encoding/json baseline (run %d): %w", i+1, err)
		}
		naive = append(naive, m)
	}
	o, n := benchproc.Median(ours), benchproc.Median(naive)
	fmt.Println()
	fmt.Println("| approach | median time | best time | median CPU (user+sys) | peak RSS (max over runs) |")
	fmt.Println("| --- | --- | --- | --- | --- |")
	fmt.Printf("| encoding/json into structs (manifest only) | %.2f s | %.2f s | %.2f s | %d MB |\n", n.Wall.Seconds(), benchproc.Best(naive).Seconds(), benchproc.MedianCPU(naive).Seconds(), benchproc.MaxPeakRSS(naive)/1024)
	fmt.Printf("| boltfetch analyze (manifest + run_results) | %.2f s | %.2f s | %.2f s | %d MB |\n", o.Wall.Seconds(), benchproc.Best(ours).Seconds(), benchproc.MedianCPU(ours).Seconds(), benchproc.MaxPeakRSS(ours)/1024)
	fmt.Printf("\nspeed-up: %.1fx median, %.1fx best; targets: >= 8x and <= 64 MB peak RSS\n",
		n.Wall.Seconds()/o.Wall.Seconds(), benchproc.Best(naive).Seconds()/benchproc.Best(ours).Seconds())
	fmt.Println("(wall times depend on what else the machine runs: boltfetch uses both cores, the baseline one)")
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
