package artifacts

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestScanNodesSharedManifests runs ScanNodes on every manifest of the
// shared corpus (v1 to v12, pre-0.19, Fusion) with a run_results naming
// each of its nodes, and checks each node against what encoding/json reads
// of the manifest: type, location, parents (parent_map, else depends_on)
// and test target.
func TestScanNodesSharedManifests(t *testing.T) {
	dir, sources := sharedSources(t)
	n := 0
	for _, src := range sources {
		if src.kind != "manifest" {
			continue
		}
		n++
		path := filepath.Join(dir, src.file)
		t.Run(src.file, func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			type jnode struct {
				ResourceType string `json:"resource_type"`
				Database     any    `json:"database"`
				Schema       any    `json:"schema"`
				DependsOn    struct {
					Nodes []string `json:"nodes"`
				} `json:"depends_on"`
				AttachedNode any `json:"attached_node"`
			}
			var m struct {
				Nodes     map[string]jnode    `json:"nodes"`
				UnitTests map[string]jnode    `json:"unit_tests"`
				ParentMap map[string][]string `json:"parent_map"`
			}
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Skipf("encoding/json cannot read it: %v", err)
			}
			all := map[string]jnode{}
			for id, nd := range m.Nodes {
				all[id] = nd
			}
			for id, nd := range m.UnitTests {
				all[id] = nd
			}
			var rr strings.Builder
			rr.WriteString(`{"results": [`)
			i := 0
			for id := range all {
				if i > 0 {
					rr.WriteString(",")
				}
				i++
				q, _ := json.Marshal(id)
				rr.WriteString(`{"status": "success", "unique_id": ` + string(q) + `}`)
			}
			rr.WriteString(`]}`)
			open := func(b []byte) Opener {
				return func(context.Context) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(string(b))), nil }
			}
			s, err := ScanNodes(context.Background(), open(raw), open([]byte(rr.String())), Options{})
			if err != nil {
				t.Fatal(err)
			}
			seen := 0
			err = s.Each(context.Background(), func(got *ExecutedNode) error {
				seen++
				want, ok := all[got.UniqueID]
				if !ok || !got.InManifest {
					t.Errorf("%s: in manifest %v, emitted as %v", got.UniqueID, ok, got.InManifest)
					return nil
				}
				if want.ResourceType != "" && got.ResourceType != want.ResourceType {
					t.Errorf("%s: type %q, want %q", got.UniqueID, got.ResourceType, want.ResourceType)
				}
				if db, _ := want.Database.(string); got.Database != db {
					t.Errorf("%s: database %q, want %q", got.UniqueID, got.Database, db)
				}
				parents := want.DependsOn.Nodes
				if p, ok := m.ParentMap[got.UniqueID]; ok {
					parents = p
				}
				if diff := cmp.Diff(parents, got.Parents, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("%s: parents (-want +got):\n%s", got.UniqueID, diff)
				}
				if a, _ := want.AttachedNode.(string); a != "" && got.TestedNode != a {
					t.Errorf("%s: tested node %q, want %q", got.UniqueID, got.TestedNode, a)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if seen != len(all) {
				t.Errorf("%d nodes emitted, want %d", seen, len(all))
			}
		})
	}
	if n == 0 {
		t.Fatal("no manifest in the corpus")
	}
}
