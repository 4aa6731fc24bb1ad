package artifacts

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func analyzeStrings(t *testing.T, manifest, runResults string) *Analysis {
	t.Helper()
	a, err := Analyze(context.Background(), strings.NewReader(manifest), strings.NewReader(runResults), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func nodeByID(t *testing.T, lists [][]Node, id string) Node {
	t.Helper()
	for _, l := range lists {
		for _, n := range l {
			if n.UniqueID == id {
				return n
			}
		}
	}
	t.Fatalf("%s not reported", id)
	return Node{}
}

// TestJoinsAndLooseTypes covers the joins and loose types the issue names,
// on a small hand-written pair.
func TestJoinsAndLooseTypes(t *testing.T) {
	t.Parallel()
	manifest := `{
	  "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json", "dbt_version": "1.9.0", "invocation_id": "inv-1"},
	  "nodes": {
	    "model.p.orders": {"resource_type": "model", "name": "orders", "package_name": "p",
	      "original_file_path": "models\\staging\\orders.sql", "depends_on": {"nodes": []},
	      "meta": {}, "config": {"meta": {"owner": "data-eng"}}, "compiled_code": "select 1"},
	    "model.p.report": {"resource_type": "model", "name": "report", "depends_on": {"nodes": ["model.p.orders"]}},
	    "operation.p.p-on-run-end-0": {"resource_type": "operation", "name": "p-on-run-end-0", "original_file_path": "./dbt_project.yml", "depends_on": {"nodes": []}}
	  },
	  "unit_tests": {
	    "unit_test.p.orders.test_orders": {"resource_type": "unit_test", "name": "test_orders", "model": "orders",
	      "original_file_path": "models/staging/orders.yml", "depends_on": {"nodes": ["model.p.orders"]}}
	  },
	  "parent_map": {"model.p.orders": [], "model.p.report": ["model.p.orders"], "unit_test.p.orders.test_orders": ["model.p.orders"]}
	}`
	runResults := `{
	  "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json", "dbt_version": "1.9.0", "invocation_id": "inv-1"},
	  "results": [
	    {"unique_id": "unit_test.p.orders.test_orders", "status": "fail", "message": 3, "failures": "3"},
	    {"unique_id": "model.p.orders", "status": "skipped", "message": null, "failures": null},
	    {"unique_id": "model.p.report", "status": "skipped"},
	    {"unique_id": "operation.p.p-on-run-end-0", "status": "error", "message": "hook failed"},
	    {"unique_id": "model.p.ghost", "status": "runtime error", "message": "gone", "compiled_code": "select 2", "relation_name": "db.s.ghost"},
	    {"unique_id": "model.p.future", "status": "reused", "message": "Reused"},
	    {"unique_id": "test.p.odd", "status": "warn", "failures": "Test failure", "execution_time": "1.5"}
	  ]
	}`
	a := analyzeStrings(t, manifest, runResults)
	all := [][]Node{a.Failed, a.Warned, a.Skipped}

	ut := nodeByID(t, all, "unit_test.p.orders.test_orders")
	if ut.Message != "3" || ut.Failures == nil || *ut.Failures != 3 || ut.ResourceType != "unit_test" || !ut.InManifest {
		t.Errorf("unit test join or loose types: %+v", ut)
	}
	orders := nodeByID(t, all, "model.p.orders")
	if diff := cmp.Diff([]string{"unit_test.p.orders.test_orders"}, orders.CausedBy); diff != "" {
		t.Errorf("a failing unit test skips its model (-want +got):\n%s", diff)
	}
	if orders.OriginalFilePath != `models\staging\orders.sql` || orders.Owner != "data-eng" || orders.CompiledCode != "" {
		t.Errorf("orders detail: %+v", orders)
	}
	report := nodeByID(t, all, "model.p.report")
	if diff := cmp.Diff([]string{"unit_test.p.orders.test_orders"}, report.CausedBy); diff != "" {
		t.Errorf("report caused_by (-want +got):\n%s", diff)
	}
	hook := nodeByID(t, all, "operation.p.p-on-run-end-0")
	if hook.ResourceType != "operation" || hook.OriginalFilePath != "./dbt_project.yml" || !hook.InManifest {
		t.Errorf("hook join: %+v", hook)
	}
	ghost := nodeByID(t, all, "model.p.ghost")
	if ghost.InManifest || ghost.ResourceType != "model" || ghost.Name != "ghost" || ghost.CompiledCode != "select 2" || ghost.RelationName != "db.s.ghost" || ghost.Message != "gone" {
		t.Errorf("result without manifest entry: %+v", ghost)
	}
	odd := nodeByID(t, all, "test.p.odd")
	if odd.Failures != nil || odd.FailuresText != "Test failure" || odd.ExecutionTime != 1.5 {
		t.Errorf("string failures: %+v", odd)
	}
	if a.Counts["reused"] != 1 || a.Total != 7 {
		t.Errorf("unknown status not counted as is: %v (total %d)", a.Counts, a.Total)
	}
	if len(a.Warnings) != 1 || !strings.Contains(a.Warnings[0], "2 reported result(s) have no manifest entry") {
		t.Errorf("warnings: %q", a.Warnings)
	}
}

// TestFusionShape: dbt Fusion writes v6 headers with 2.x versions, omits
// message, compiled_code and (on models) failures, and skips reused nodes
// without any failure upstream: caused_by is then empty, not null.
func TestFusionShape(t *testing.T) {
	t.Parallel()
	manifest := `{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json", "dbt_version": "2.0.0-preview.145", "invocation_id": "f-1"},
	  "nodes": {"model.p.a": {"resource_type": "model", "depends_on": {"nodes": []}},
	            "test.p.not_null_a_id": {"resource_type": "test", "attached_node": "model.p.a", "depends_on": {"nodes": ["model.p.a"]}}},
	  "parent_map": {"model.p.a": [], "test.p.not_null_a_id": ["model.p.a"]}}`
	runResults := `{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json", "dbt_version": "2.0.0-preview.145", "invocation_id": "f-1"},
	  "results": [{"unique_id": "model.p.a", "status": "success", "execution_time": 0.2},
	              {"unique_id": "test.p.not_null_a_id", "status": "skipped", "execution_time": 0}]}`
	a := analyzeStrings(t, manifest, runResults)
	if len(a.Skipped) != 1 || a.Skipped[0].CausedBy == nil || len(a.Skipped[0].CausedBy) != 0 {
		t.Fatalf("skipped: %+v", a.Skipped)
	}
	if a.DbtVersion != "2.0.0-preview.145" || !a.SameInvocation || len(a.Warnings) != 0 {
		t.Errorf("header: %+v", a)
	}
}

// TestTestFailureRule: a failing test blocks the children of the node it
// tests, not that node's other tests; a relationships test also tied to a
// skipped child is skipped because of the child.
func TestTestFailureRule(t *testing.T) {
	t.Parallel()
	manifest := `{"nodes": {
	  "model.p.a": {"depends_on": {"nodes": []}},
	  "model.p.b": {"depends_on": {"nodes": ["model.p.a"]}},
	  "test.p.unique_a": {"attached_node": "model.p.a", "depends_on": {"nodes": ["model.p.a"]}},
	  "test.p.not_null_a": {"attached_node": "model.p.a", "depends_on": {"nodes": ["model.p.a"]}},
	  "test.p.rel_b_a": {"attached_node": "model.p.b", "depends_on": {"nodes": ["model.p.a", "model.p.b"]}},
	  "test.p.other_test_on_a": {"depends_on": {"nodes": ["model.p.a"]}}
	}}`
	runResults := `{"results": [
	  {"unique_id": "model.p.a", "status": "success"},
	  {"unique_id": "test.p.unique_a", "status": "fail"},
	  {"unique_id": "test.p.not_null_a", "status": "skipped"},
	  {"unique_id": "model.p.b", "status": "skipped"},
	  {"unique_id": "test.p.rel_b_a", "status": "skipped"},
	  {"unique_id": "test.p.other_test_on_a", "status": "pass"}
	]}`
	a := analyzeStrings(t, manifest, runResults)
	got := map[string][]string{}
	for _, n := range a.Skipped {
		got[n.UniqueID] = n.CausedBy
	}
	want := map[string][]string{
		"test.p.not_null_a": {}, // a sibling test is not blocked by the failing test
		"model.p.b":         {"test.p.unique_a"},
		"test.p.rel_b_a":    {"test.p.unique_a"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("caused_by (-want +got):\n%s", diff)
	}
}

// TestDuplicateResults: a node listed twice counts once, from its first
// result, its causes are not repeated, and a warning says so.
func TestDuplicateResults(t *testing.T) {
	t.Parallel()
	manifest := `{"metadata": {"invocation_id": "i"}, "nodes": {
	  "model.p.a": {"depends_on": {"nodes": []}},
	  "model.p.b": {"depends_on": {"nodes": ["model.p.a"]}},
	  "model.p.c": {"depends_on": {"nodes": []}}}}`
	runResults := `{"metadata": {"invocation_id": "i"}, "results": [
	  {"status": "error", "unique_id": "model.p.a"},
	  {"status": "skipped", "unique_id": "model.p.b"},
	  {"status": "success", "unique_id": "model.p.c"},
	  {"status": "error", "unique_id": "model.p.a"},
	  {"status": "success", "unique_id": "model.p.b"},
	  {"status": "error", "unique_id": "model.p.c"},
	  {"status": "skipped", "unique_id": "model.p.\u0062"},
	  {"status": "success", "unique_id": "model.p.c"}]}`
	a := analyzeStrings(t, manifest, runResults)
	if a.Total != 3 || a.DuplicateResults != 5 || len(a.Failed) != 1 || len(a.Skipped) != 1 {
		t.Fatalf("total %d, dups %d, failed %d, skipped %d", a.Total, a.DuplicateResults, len(a.Failed), len(a.Skipped))
	}
	if diff := cmp.Diff(map[string]int{"error": 1, "skipped": 1, "success": 1}, a.Counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	if b := a.Skipped[0]; fmt.Sprint(b.CausedBy) != "[model.p.a]" || b.CausedByCount != 1 {
		t.Errorf("caused_by %v (%d)", b.CausedBy, b.CausedByCount)
	}
	if !strings.Contains(strings.Join(a.Warnings, "\n"), "5 result(s) under a unique_id it already listed (the first: model.p.a)") {
		t.Errorf("no duplicate warning: %q", a.Warnings)
	}
	// A duplicate of a result that is not reported is named too.
	a = analyzeStrings(t, manifest, `{"results": [{"status": "success", "unique_id": "model.p.c"}, {"status": "success", "unique_id": "model.p.c"}]}`)
	if a.Total != 1 || a.Counts["success"] != 1 || !strings.Contains(strings.Join(a.Warnings, "\n"), "1 result(s) under a unique_id it already listed (the first: model.p.c)") {
		t.Errorf("total %d, counts %v, warnings %q", a.Total, a.Counts, a.Warnings)
	}
}

// TestCausedByCap: a skipped node with more causes than MaxCausedBy lists
// the first in sort order and counts them all; the writers say "and N more".
func TestCausedByCap(t *testing.T) {
	t.Parallel()
	var nodes, results, parents []string
	for i := range MaxCausedBy + 5 {
		id := fmt.Sprintf("model.p.f%02d", i)
		nodes = append(nodes, fmt.Sprintf(`%q: {"depends_on": {"nodes": []}}`, id))
		results = append(results, fmt.Sprintf(`{"status": "error", "unique_id": %q}`, id))
		parents = append(parents, fmt.Sprintf("%q", id))
	}
	nodes = append(nodes, `"model.p.s": {"depends_on": {"nodes": [`+strings.Join(parents, ",")+`]}}`)
	results = append([]string{`{"status": "skipped", "unique_id": "model.p.s"}`}, results...)
	a := analyzeStrings(t, `{"nodes": {`+strings.Join(nodes, ",")+`}}`, `{"results": [`+strings.Join(results, ",")+`]}`)
	s := a.Skipped[0]
	if len(s.CausedBy) != MaxCausedBy || s.CausedByCount != MaxCausedBy+5 || s.CausedBy[0] != "model.p.f00" || s.CausedBy[MaxCausedBy-1] != fmt.Sprintf("model.p.f%02d", MaxCausedBy-1) {
		t.Errorf("caused_by %v (%d)", s.CausedBy, s.CausedByCount)
	}
	var txt, md strings.Builder
	_ = a.WriteText(&txt)
	_ = a.WriteMarkdown(&md)
	if !strings.Contains(txt.String(), "model.p.f19 and 5 more failed (1)") || !strings.Contains(md.String(), "and 22 more failed (1)") {
		t.Errorf("writers do not say how many causes were left out:\n%s\n%s", txt.String(), md.String())
	}
}
