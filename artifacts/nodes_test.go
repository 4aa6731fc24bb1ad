package artifacts

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func memOpener(b []byte) Opener {
	return func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}

const nodesManifest = `{
 "metadata": {"dbt_version": "1.8.0", "invocation_id": "inv-1", "adapter_type": "snowflake"},
 "nodes": {
  "seed.p.raw": {"resource_type": "seed", "database": "DB", "schema": "RAW", "name": "raw", "alias": "raw_table"},
  "model.p.a": {"resource_type": "model", "database": "DB", "schema": "S", "name": "a", "alias": "a_tbl",
    "raw_code": "select * from {{ ref('raw') }}", "compiled_code": "select * from DB.RAW.raw_table",
    "depends_on": {"nodes": ["seed.p.raw"]}},
  "model.p.b": {"resource_type": "model", "database": "DB", "schema": "S", "name": "b",
    "raw_code": "select 1", "depends_on": {"nodes": ["model.p.a"]}},
  "test.p.not_null_b_id": {"resource_type": "test", "database": "DB", "schema": "S_dbt_test__audit", "name": "not_null_b_id",
    "attached_node": "model.p.b", "column_name": "id", "test_metadata": {"name": "not_null", "kwargs": {"column_name": "id"}},
    "config": {"severity": "ERROR"}, "compiled_code": "select id from b where id is null", "depends_on": {"nodes": ["model.p.b"]}},
  "test.p.fresh_src": {"resource_type": "test", "name": "fresh_src", "schema": "S",
    "test_metadata": {"name": "accepted_values", "kwargs": {"column_name": "status"}}, "depends_on": {"nodes": ["source.p.app.orders", "macro.x"]}},
  "model.p.unrun": {"resource_type": "model", "database": "DB", "schema": "S", "name": "unrun", "compiled_code": "HUGE SQL NOT RUN"}
 },
 "sources": {"source.p.app.orders": {"resource_type": "source", "database": "DB", "schema": "APP", "name": "orders", "identifier": "ORDERS_V2"}},
 "macros": {"macro.x": {"macro_sql": "{% macro x() %}{% endmacro %}"}},
 "parent_map": {"model.p.b": ["model.p.a", "source.p.app.orders"], "model.p.a": ["seed.p.raw"]}
}`

const nodesRunResults = `{
 "metadata": {"dbt_version": "1.8.1", "invocation_id": "inv-1", "generated_at": "2024-01-01T00:10:00Z"},
 "results": [
  {"status": "success", "unique_id": "model.p.a", "message": "SELECT 3", "execution_time": 1.5,
   "timing": [{"name": "compile", "started_at": "2024-01-01T00:00:00Z", "completed_at": "2024-01-01T00:00:01Z"},
              {"name": "execute", "started_at": "2024-01-01T00:00:01Z", "completed_at": "2024-01-01T00:00:02.5Z"}]},
  {"status": "error", "unique_id": "model.p.b", "message": "Database Error\n  boom", "timing": []},
  {"status": "skipped", "unique_id": "test.p.not_null_b_id", "message": null, "failures": null},
  {"status": "fail", "unique_id": "test.p.fresh_src", "failures": 4, "message": "Got 4 results"},
  {"status": "success", "unique_id": "model.p.gone", "message": "OK"}
 ],
 "elapsed_time": 3.5
}`

func collect(t *testing.T, manifest, runResults []byte) (*NodeSet, map[string]*ExecutedNode, []string) {
	t.Helper()
	s, err := ScanNodes(context.Background(), memOpener(manifest), memOpener(runResults), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*ExecutedNode{}
	var order []string
	if err := s.Each(context.Background(), func(n *ExecutedNode) error {
		c := *n
		got[n.UniqueID] = &c
		order = append(order, n.UniqueID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return s, got, order
}

func TestScanNodes(t *testing.T) {
	s, got, order := collect(t, []byte(nodesManifest), []byte(nodesRunResults))
	if want := (Invocation{AdapterType: "snowflake", DbtVersion: "1.8.1", InvocationID: "inv-1", GeneratedAt: "2024-01-01T00:10:00Z", ElapsedTime: 3.5}); s.Invocation != want {
		t.Errorf("invocation %+v, want %+v", s.Invocation, want)
	}
	if diff := cmp.Diff([]string{"model.p.a", "model.p.b", "test.p.not_null_b_id", "test.p.fresh_src", "model.p.gone"}, order); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	four := int64(4)
	seed := Relation{UniqueID: "seed.p.raw", ResourceType: "seed", Database: "DB", Schema: "RAW", Identifier: "raw_table"}
	a := Relation{UniqueID: "model.p.a", ResourceType: "model", Database: "DB", Schema: "S", Identifier: "a_tbl"}
	b := Relation{UniqueID: "model.p.b", ResourceType: "model", Database: "DB", Schema: "S", Identifier: "b"}
	src := Relation{UniqueID: "source.p.app.orders", ResourceType: "source", Database: "DB", Schema: "APP", Identifier: "ORDERS_V2"}
	want := map[string]*ExecutedNode{
		"model.p.a": {UniqueID: "model.p.a", ResourceType: "model", Name: "a", Database: "DB", Schema: "S", Alias: "a_tbl",
			Code: "select * from DB.RAW.raw_table", CodeCompiled: true, Parents: []string{"seed.p.raw"}, Inputs: []Relation{seed}, Output: &a,
			Status: "success", ExecutionTime: 1.5, InManifest: true,
			StartedAt: time.Date(2024, 1, 1, 0, 0, 1, 0, time.UTC), CompletedAt: time.Date(2024, 1, 1, 0, 0, 2, 5e8, time.UTC)},
		// parent_map wins over depends_on; raw code when not compiled.
		"model.p.b": {UniqueID: "model.p.b", ResourceType: "model", Name: "b", Database: "DB", Schema: "S", Alias: "b",
			Code: "select 1", Parents: []string{"model.p.a", "source.p.app.orders"}, Inputs: []Relation{a, src}, Output: &b,
			Status: "error", Message: "Database Error\n  boom", InManifest: true},
		"test.p.not_null_b_id": {UniqueID: "test.p.not_null_b_id", ResourceType: "test", Name: "not_null_b_id", Database: "DB", Schema: "S_dbt_test__audit", Alias: "not_null_b_id",
			Code: "select id from b where id is null", CodeCompiled: true, Parents: []string{"model.p.b"}, Inputs: []Relation{b},
			TestedNode: "model.p.b", TestedRelation: &b, ColumnName: "id", TestName: "not_null", Severity: "ERROR",
			Status: "skipped", InManifest: true},
		// No attached_node: the single relation parent; the column from kwargs.
		"test.p.fresh_src": {UniqueID: "test.p.fresh_src", ResourceType: "test", Name: "fresh_src", Schema: "S", Alias: "fresh_src",
			Parents: []string{"source.p.app.orders", "macro.x"}, Inputs: []Relation{src}, TestedNode: "source.p.app.orders", TestedRelation: &src,
			ColumnName: "status", TestName: "accepted_values", Status: "fail", Message: "Got 4 results", Failures: &four, InManifest: true},
		"model.p.gone": {UniqueID: "model.p.gone", ResourceType: "model", Name: "gone", Alias: "gone", Status: "success"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("nodes (-want +got):\n%s", diff)
	}
	// The relation of the model that did not run was not needed: pruned.
	if len(s.rels) != 2 {
		t.Errorf("%d relations kept, want 2 (the seed and the source)", len(s.rels))
	}
}

// TestScanNodesPre019 reads results that embed their node (dbt ≤ 0.18),
// absent from the manifest: details and status come from the result.
func TestScanNodesPre019(t *testing.T) {
	manifest := `{"nodes": {}, "generated_at": "2020-01-01T00:00:00Z"}`
	rr := `{"results": [
	  {"node": {"unique_id": "model.p.x", "resource_type": "model", "name": "x", "database": "d", "schema": "s", "alias": "x",
	            "depends_on": {"nodes": ["model.p.y"]}, "injected_sql": "select 2"},
	   "error": "boom", "status": "ERROR", "timing": []},
	  {"node": {"unique_id": "model.p.z", "resource_type": "model", "name": "z"}, "skip": true, "status": null}
	]}`
	_, got, _ := collect(t, []byte(manifest), []byte(rr))
	x := got["model.p.x"]
	if x == nil || x.Status != "error" || x.Message != "boom" || x.Code != "select 2" || !x.CodeCompiled || x.InManifest || x.Database != "d" || len(x.Parents) != 1 {
		t.Errorf("model.p.x: %+v", x)
	}
	if z := got["model.p.z"]; z == nil || z.Status != "skipped" {
		t.Errorf("model.p.z: %+v", z)
	}
}

func TestScanNodesBadInput(t *testing.T) {
	for name, tc := range map[string]struct {
		manifest, rr string
		want         error
	}{
		"swapped":            {nodesRunResults, nodesManifest, ErrWrongArtifact},
		"truncated manifest": {nodesManifest[:200], nodesRunResults, ErrTruncated},
		"empty run_results":  {nodesManifest, "", ErrEmpty},
		"not json":           {"nope", nodesRunResults, ErrWrongArtifact},
	} {
		s, err := ScanNodes(context.Background(), memOpener([]byte(tc.manifest)), memOpener([]byte(tc.rr)), Options{})
		var pe *ParseError
		if err == nil || !errors.As(err, &pe) || !errors.Is(err, tc.want) {
			t.Errorf("%s: %v (set %v), want a ParseError matching %v", name, err, s != nil, tc.want)
		}
	}
}

// FuzzScanNodes: any pair of inputs gives nodes or a ParseError, never a
// panic.
func FuzzScanNodes(f *testing.F) {
	f.Add([]byte(nodesManifest), []byte(nodesRunResults))
	f.Add([]byte(`{"nodes":{"a":{"depends_on":{"nodes":["b"]}}},"parent_map":{"a":["c"]}}`), []byte(`{"results":[{"unique_id":"a","status":"error","timing":[{"started_at":"x"}]}]}`))
	f.Fuzz(func(t *testing.T, manifest, rr []byte) {
		s, err := ScanNodes(context.Background(), memOpener(manifest), memOpener(rr), Options{MaxNodeBytes: 1 << 12})
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("not a ParseError: %v", err)
			}
			return
		}
		n := 0
		err = s.Each(context.Background(), func(*ExecutedNode) error { n++; return nil })
		if err == nil && n != s.Len() {
			t.Fatalf("%d nodes for %d results", n, s.Len())
		}
	})
}

// TestScanNodesOversized: a node over the node size limit is not held; it
// is still sent, without its details, and a warning names it.
func TestScanNodesOversized(t *testing.T) {
	big := strings.Repeat("x", 8<<10)
	manifest := `{"nodes": {"model.p.big": {"resource_type": "model", "database": "d", "compiled_code": "` + big + `"},
	  "model.p.small": {"resource_type": "model", "database": "d", "schema": "s", "depends_on": {"nodes": ["model.p.big"]}}}}`
	rr := `{"results": [{"status": "success", "unique_id": "model.p.big"}, {"status": "success", "unique_id": "model.p.small"}]}`
	s, err := ScanNodes(context.Background(), memOpener([]byte(manifest)), memOpener([]byte(rr)), Options{MaxNodeBytes: 4 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0], "model.p.big") || strings.Contains(s.Warnings[0], "Options.") {
		t.Errorf("warnings %q", s.Warnings)
	}
	got := map[string]ExecutedNode{}
	if err := s.Each(context.Background(), func(n *ExecutedNode) error { got[n.UniqueID] = *n; return nil }); err != nil {
		t.Fatal(err)
	}
	if b, ok := got["model.p.big"]; !ok || b.Code != "" || b.InManifest {
		t.Errorf("model.p.big: %+v", b)
	}
	if sm := got["model.p.small"]; sm.Schema != "s" || len(sm.Parents) != 1 {
		t.Errorf("model.p.small: %+v", sm)
	}
}
