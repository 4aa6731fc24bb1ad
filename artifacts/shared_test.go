package artifacts

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/boltfetch/boltfetch/internal/sharedtest"
	"github.com/google/go-cmp/cmp"
)

// sharedSource is one row of shared/dbt-artifacts/SOURCES.tsv.
type sharedSource struct {
	file, kind, invocation string
	partners               []string
}

func sharedSources(t *testing.T) (string, []sharedSource) {
	t.Helper()
	dir := sharedtest.Dir(t, "dbt-artifacts")
	f, err := os.Open(filepath.Join(dir, "SOURCES.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []sharedSource
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	header := map[string]int{}
	for line := 0; sc.Scan(); line++ {
		cols := strings.Split(sc.Text(), "\t")
		if line == 0 {
			for i, c := range cols {
				header[c] = i
			}
			continue
		}
		col := func(name string) string {
			if i, ok := header[name]; ok && i < len(cols) {
				return strings.TrimSpace(cols[i])
			}
			return ""
		}
		s := sharedSource{file: col("local_file"), kind: col("kind"), invocation: col("invocation_id")}
		for _, p := range strings.Split(col("same_invocation_partner"), "|") {
			p = strings.TrimSpace(p)
			switch {
			case p == "":
				continue
			case strings.HasPrefix(p, "CROSS-REPO:"):
				p = strings.TrimSpace(strings.TrimPrefix(p, "CROSS-REPO:"))
			default:
				p = filepath.Join(filepath.Dir(s.file), p)
			}
			// Some partners named in SOURCES.tsv were not kept in the set.
			if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
				s.partners = append(s.partners, p)
			}
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) < 100 {
		t.Fatalf("SOURCES.tsv lists %d files, want the full set", len(out))
	}
	return dir, out
}

// TestSharedArtifactsParse reads every artifact of the shared set, each
// against an empty counterpart.
func TestSharedArtifactsParse(t *testing.T) {
	dir, sources := sharedSources(t)
	for _, s := range sources {
		t.Run(s.file, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(dir, s.file)
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var a *Analysis
			if strings.HasPrefix(s.kind, "manifest") {
				a, err = Analyze(context.Background(), f, strings.NewReader(`{"results": []}`), Options{ManifestName: path})
			} else {
				a, err = Analyze(context.Background(), strings.NewReader(`{"nodes": {}}`), f, Options{RunResultsName: path})
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.Failed == nil || a.Warned == nil || a.Skipped == nil {
				t.Error("nil lists")
			}
		})
	}
}

// TestSharedPairs analyses every same-invocation pair and checks the
// reported sets against run_results and caused_by against an independent
// computation from the manifest decoded with encoding/json.
func TestSharedPairs(t *testing.T) {
	dir, sources := sharedSources(t)
	pairs := 0
	for _, s := range sources {
		if !strings.HasPrefix(s.kind, "manifest") {
			continue
		}
		for _, rr := range s.partners {
			pairs++
			t.Run(s.file+"+"+filepath.Base(rr), func(t *testing.T) {
				t.Parallel()
				mp, rp := filepath.Join(dir, s.file), filepath.Join(dir, rr)
				a, err := AnalyzeFiles(context.Background(), mp, rp, Options{})
				if err != nil {
					t.Fatal(err)
				}
				checkAgainstIndependent(t, a, mp, rp)
			})
		}
	}
	if pairs < 10 {
		t.Errorf("only %d same-invocation pairs found", pairs)
	}
}

func checkAgainstIndependent(t *testing.T, a *Analysis, manifestPath, runResultsPath string) {
	t.Helper()
	status := independentStatuses(t, runResultsPath)
	want := map[string][]string{}
	for id, st := range status {
		switch strings.ToLower(st) {
		case "error", "fail", "runtime error", "partial success":
			want["failed"] = append(want["failed"], id)
		case "warn":
			want["warned"] = append(want["warned"], id)
		case "skipped":
			want["skipped"] = append(want["skipped"], id)
		}
	}
	got := map[string][]string{}
	for name, nodes := range map[string][]Node{"failed": a.Failed, "warned": a.Warned, "skipped": a.Skipped} {
		for _, n := range nodes {
			got[name] = append(got[name], n.UniqueID)
		}
	}
	for _, m := range []map[string][]string{want, got} {
		for _, v := range m {
			sort.Strings(v)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reported sets (-run_results +analysis):\n%s", diff)
	}

	g := independentGraph(t, manifestPath)
	var failing []string
	for id, st := range status {
		switch strings.ToLower(st) {
		case "error", "fail", "runtime error", "partial success":
			failing = append(failing, id)
		}
	}
	for _, n := range a.Skipped {
		wantCauses := g.causes(n.UniqueID, failing)
		if diff := cmp.Diff(wantCauses, n.CausedBy); diff != "" {
			t.Errorf("caused_by of %s (-independent +analysis):\n%s", n.UniqueID, diff)
		}
	}
}

// independentStatuses decodes run_results generically and derives each
// result's status, the pre-0.19 shape included.
func independentStatuses(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Results []map[string]any `json:"results"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range doc.Results {
		id, _ := r["unique_id"].(string)
		st, _ := r["status"].(string)
		if node, ok := r["node"].(map[string]any); ok && id == "" {
			id, _ = node["unique_id"].(string)
			switch {
			case r["error"] != nil && r["error"] != "":
				st = "error"
			case r["skip"] == true:
				st = "skipped"
			case r["fail"] == true:
				st = "fail"
			case r["warn"] == true:
				st = "warn"
			default:
				st = "ok"
			}
		}
		out[id] = st
	}
	return out
}

type testGraph struct {
	parents  map[string][]string
	tested   map[string][]string // tests and unit tests: the nodes they test
	resource map[string]string
}

func independentGraph(t *testing.T, path string) *testGraph {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type node struct {
		DependsOn struct {
			Nodes []string `json:"nodes"`
		} `json:"depends_on"`
		AttachedNode *string `json:"attached_node"`
		Model        *string `json:"model"`
	}
	var doc struct {
		Nodes     map[string]node     `json:"nodes"`
		UnitTests map[string]node     `json:"unit_tests"`
		ParentMap map[string][]string `json:"parent_map"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	g := &testGraph{parents: map[string][]string{}, tested: map[string][]string{}, resource: map[string]string{}}
	for _, set := range []map[string]node{doc.Nodes, doc.UnitTests} {
		for id, n := range set {
			g.parents[id] = n.DependsOn.Nodes
			if p, ok := doc.ParentMap[id]; ok {
				g.parents[id] = p
			}
			switch {
			case n.AttachedNode != nil && *n.AttachedNode != "":
				g.tested[id] = []string{*n.AttachedNode}
			case strings.HasPrefix(id, "unit_test.") && n.Model != nil:
				for _, p := range n.DependsOn.Nodes {
					if strings.HasSuffix(p, "."+*n.Model) {
						g.tested[id] = []string{p}
					}
				}
			}
			if _, ok := g.tested[id]; !ok {
				g.tested[id] = g.parents[id]
			}
		}
	}
	return g
}

// ancestors walks up from id.
func (g *testGraph) ancestors(id string) map[string]bool {
	seen := map[string]bool{}
	stack := []string{id}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, p := range g.parents[n] {
			if !seen[p] {
				seen[p] = true
				stack = append(stack, p)
			}
		}
	}
	return seen
}

func isTestID(id string) bool {
	return strings.HasPrefix(id, "test.") || strings.HasPrefix(id, "unit_test.")
}

// causes applies the rules by looking up from the skipped node: a failing
// model is an ancestor; a failing test's tested node A has a non-test child
// that is the node or one of its ancestors; a failing unit test's model is
// the node or one of its ancestors.
func (g *testGraph) causes(skipped string, failing []string) []string {
	anc := g.ancestors(skipped)
	out := []string{}
	for _, f := range failing {
		blocked := false
		switch {
		case strings.HasPrefix(f, "test."):
			for _, a := range g.tested[f] {
				for c := range anc {
					if !isTestID(c) && contains(g.parents[c], a) {
						blocked = true
					}
				}
				if !isTestID(skipped) && contains(g.parents[skipped], a) {
					blocked = true
				}
			}
		case strings.HasPrefix(f, "unit_test."):
			for _, a := range g.tested[f] {
				if a == skipped || anc[a] {
					blocked = true
				}
			}
		default:
			blocked = anc[f]
		}
		if blocked {
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
