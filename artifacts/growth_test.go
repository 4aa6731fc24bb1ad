package artifacts

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// The growth rule (see "Growth" in the package doc): no output and no memory
// of the analysis may grow faster than its input. TestGrowth checks it on
// adversarial shapes, each analysed in a child process (this test binary run
// again) so that its peak RSS is its own. The child reads it from VmHWM in
// /proc/self/status: getrusage's max RSS of a child (ProcessState.SysUsage)
// starts from the parent's RSS when it forked, which here holds all the
// generated pairs and would hide the child's own peak. The child's peak, less that of
// the same child on a tiny pair, must stay within growthRSSFactor times the
// input size, and each output (JSON, text, Markdown) within growthOutFactor
// times the input size. A quadratic shape of a few MB breaks both by orders
// of magnitude: before the rule, 700 kB of duplicates took 4.2 GB.
const (
	growthRSSFactor = 8
	// growthRSSSlack is what a few MB of input may add to a tiny pair's peak
	// whatever their shape: the fixed buffers (read-ahead, skimmer window,
	// batches) that a tiny pair leaves untouched.
	growthRSSSlack  = 24 << 20
	growthOutFactor = 4
	growthChildEnv  = "BOLTFETCH_GROWTH_CHILD"
)

// growthNode is one manifest node of a generated adversarial pair.
type growthNode struct {
	id      string
	parents []string
	code    string
}

// growthPair writes a manifest (nodes and parent_map) and a run_results
// listing results (id, status, message) in order.
func growthPair(t *testing.T, dir string, nodes []growthNode, results [][3]string) int64 {
	t.Helper()
	mf, err := os.Create(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(mf)
	ids := func(list []string) string {
		q := make([]string, len(list))
		for i, p := range list {
			q[i] = strconv.Quote(p)
		}
		return "[" + strings.Join(q, ",") + "]"
	}
	fmt.Fprint(w, `{"metadata": {"dbt_version": "1.9.0", "invocation_id": "inv"}, "nodes": {`)
	for i, n := range nodes {
		if i > 0 {
			w.WriteString(",")
		}
		fmt.Fprintf(w, `%q: {"unique_id": %q, "resource_type": "model", "name": %q, "original_file_path": "models/x.sql", "compiled_path": "target/compiled/x.sql", "compiled_code": %s, "depends_on": {"nodes": %s}}`,
			n.id, n.id, n.id[strings.LastIndexByte(n.id, '.')+1:], jsonString(n.code), ids(n.parents))
	}
	w.WriteString(`}, "parent_map": {`)
	for i, n := range nodes {
		if i > 0 {
			w.WriteString(",")
		}
		fmt.Fprintf(w, "%q: %s", n.id, ids(n.parents))
	}
	w.WriteString("}}")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	mf.Close()
	rf, err := os.Create(filepath.Join(dir, "run_results.json"))
	if err != nil {
		t.Fatal(err)
	}
	w = bufio.NewWriter(rf)
	fmt.Fprint(w, `{"metadata": {"dbt_version": "1.9.0", "invocation_id": "inv"}, "results": [`)
	for i, r := range results {
		if i > 0 {
			w.WriteString(",")
		}
		fmt.Fprintf(w, `{"status": %q, "unique_id": %q, "message": %s, "compiled_code": "select 1"}`, r[1], r[0], jsonString(r[2]))
	}
	w.WriteString("]}")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	rf.Close()
	var total int64
	for _, f := range []string{"manifest.json", "run_results.json"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		total += fi.Size()
	}
	return total
}

// jsonString quotes s as a JSON string (strconv.Quote's \x is not JSON).
func jsonString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func model(i int) string { return "model.p.m" + strconv.Itoa(i) }

// growthShapes are the adversarial pairs, a few MB each.
var growthShapes = map[string]func(t *testing.T, dir string) int64{
	"tiny": func(t *testing.T, dir string) int64 {
		return growthPair(t, dir, []growthNode{{id: model(0)}, {id: model(1), parents: []string{model(0)}}},
			[][3]string{{model(0), "error", "boom"}, {model(1), "skipped", ""}})
	},
	// The same failing and skipped ids repeated: the 700 kB that took 4.2 GB.
	"duplicates": func(t *testing.T, dir string) int64 {
		var nodes []growthNode
		for i := range 20 {
			nodes = append(nodes, growthNode{id: model(i), code: strings.Repeat("select 1 ", 50)})
		}
		for i := 20; i < 40; i++ {
			nodes = append(nodes, growthNode{id: model(i), parents: []string{model(i - 20)}, code: strings.Repeat("select 1 ", 50)})
		}
		var res [][3]string
		for range 1500 {
			for i := range 20 {
				res = append(res, [3]string{model(i), "error", "Database Error: boom"})
				res = append(res, [3]string{model(20 + i), "skipped", ""})
			}
		}
		return growthPair(t, dir, nodes, res)
	},
	// Many failures all upstream of many skipped nodes: each skipped node
	// has every failure as a cause.
	"many-causes": func(t *testing.T, dir string) int64 {
		const f, s = 2000, 2000
		var nodes []growthNode
		var res [][3]string
		var fails []string
		for i := range f {
			nodes = append(nodes, growthNode{id: model(i)})
			fails = append(fails, model(i))
			res = append(res, [3]string{model(i), "error", "boom"})
		}
		nodes = append(nodes, growthNode{id: "model.p.hub", parents: fails})
		res = append(res, [3]string{"model.p.hub", "skipped", ""})
		for i := f; i < f+s; i++ {
			nodes = append(nodes, growthNode{id: model(i), parents: []string{"model.p.hub"}})
			res = append(res, [3]string{model(i), "skipped", ""})
		}
		return growthPair(t, dir, nodes, res)
	},
	// One huge message and one huge compiled code, with controls and
	// newlines.
	"huge-message": func(t *testing.T, dir string) int64 {
		msg := strings.Repeat("Database Error \x1b[2J\r| boom |\n", 150000)
		return growthPair(t, dir, []growthNode{{id: model(0), code: strings.Repeat("select 1\n", 200000)}, {id: model(1), parents: []string{model(0)}}},
			[][3]string{{model(0), "error", msg}, {model(1), "skipped", ""}})
	},
	// A skipped node with very wide parent lists.
	"wide-parents": func(t *testing.T, dir string) int64 {
		var nodes []growthNode
		var parents []string
		for i := range 60000 {
			nodes = append(nodes, growthNode{id: model(i)})
			parents = append(parents, model(i))
		}
		nodes = append(nodes, growthNode{id: "model.p.wide", parents: parents})
		res := [][3]string{{model(0), "error", "boom"}, {"model.p.wide", "skipped", ""}}
		for i := 1; i < 60000; i++ {
			res = append(res, [3]string{model(i), "success", ""})
		}
		return growthPair(t, dir, nodes, res)
	},
	// A deep chain: the first fails, the 40,000 after it are skipped.
	"deep-chain": func(t *testing.T, dir string) int64 {
		var nodes []growthNode
		res := [][3]string{{model(0), "error", "boom"}}
		nodes = append(nodes, growthNode{id: model(0)})
		for i := 1; i < 40000; i++ {
			nodes = append(nodes, growthNode{id: model(i), parents: []string{model(i - 1)}})
			res = append(res, [3]string{model(i), "skipped", ""})
		}
		return growthPair(t, dir, nodes, res)
	},
}

// countWriter counts what is written to it.
type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

// growthChild analyses the pair in dir and prints the size of each output.
func growthChild(dir string) error {
	a, err := AnalyzeFiles(context.Background(), filepath.Join(dir, "manifest.json"), filepath.Join(dir, "run_results.json"), Options{})
	if err != nil {
		return err
	}
	var js, txt, md countWriter
	if err := a.WriteJSON(&js); err != nil {
		return err
	}
	if err := a.WriteText(&txt); err != nil {
		return err
	}
	if err := a.WriteMarkdown(&md); err != nil {
		return err
	}
	hwm, err := peakRSS()
	if err != nil {
		return err
	}
	_, err = fmt.Printf("\nGROWTH json=%d text=%d markdown=%d dups=%d rss=%d\n", js, txt, md, a.DuplicateResults, hwm)
	return err
}

// peakRSS is this process's peak resident set since exec, in bytes.
func peakRSS() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmHWM in /proc/self/status")
}

type growthResult struct {
	rss            int64 // bytes
	json, text, md int64
	dups           int
}

func runGrowthChild(t *testing.T, dir string) growthResult {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestGrowth$", "-test.count=1")
	cmd.Env = append(os.Environ(), growthChildEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var r growthResult
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "GROWTH ") {
			if _, err := fmt.Sscanf(line, "GROWTH json=%d text=%d markdown=%d dups=%d rss=%d", &r.json, &r.text, &r.md, &r.dups, &r.rss); err != nil {
				t.Fatalf("child output %q: %v", line, err)
			}
		}
	}
	return r
}

func TestGrowth(t *testing.T) {
	if dir := os.Getenv(growthChildEnv); dir != "" {
		if err := growthChild(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if runtime.GOOS != "linux" {
		t.Skip("peak RSS is read from Linux /proc")
	}
	if raceEnabled {
		t.Skip("the race detector multiplies memory and time: TestGrowth measures without -race")
	}
	dirs := map[string]string{}
	sizes := map[string]int64{}
	for name, gen := range growthShapes {
		dirs[name] = t.TempDir()
		sizes[name] = gen(t, dirs[name])
	}
	base := runGrowthChild(t, dirs["tiny"])
	for name := range growthShapes {
		if name == "tiny" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			in := sizes[name]
			r := runGrowthChild(t, dirs[name])
			t.Logf("input %d bytes: peak RSS %d (%+d over a tiny pair), json %d, text %d, markdown %d", in, r.rss, r.rss-base.rss, r.json, r.text, r.md)
			if grown := r.rss - base.rss; grown > growthRSSFactor*in+growthRSSSlack {
				t.Errorf("peak RSS grew by %d bytes for %d bytes of input, want at most %d× + %d MiB", grown, in, growthRSSFactor, growthRSSSlack>>20)
			}
			for out, n := range map[string]int64{"json": r.json, "text": r.text, "markdown": r.md} {
				if n > growthOutFactor*in+64<<10 {
					t.Errorf("%s output is %d bytes for %d bytes of input, want at most %d×", out, n, in, growthOutFactor)
				}
			}
			if name == "duplicates" && r.dups != 59960 {
				t.Errorf("duplicates: %d duplicate results counted, want 59960", r.dups)
			}
		})
	}
}

var _ io.Writer = (*countWriter)(nil)

// BenchmarkGrowth analyses each adversarial shape and writes its three
// outputs, for profiling (-memprofile, -cpuprofile) what TestGrowth bounds.
func BenchmarkGrowth(b *testing.B) {
	t := &testing.T{}
	for name, gen := range growthShapes {
		dir := b.TempDir()
		in := gen(t, dir)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(in)
			b.ReportAllocs()
			for b.Loop() {
				if err := growthChild(dir); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
