package dbtgen

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestWriteIsValidConsistentAndReproducible(t *testing.T) {
	t.Parallel()
	spec := Spec{Nodes: 3000, Seed: 7, FailModels: 4, FailTests: 4, WarnTests: 2}
	var m1, r1, m2, r2 bytes.Buffer
	truth, err := Write(&m1, &r1, spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Write(&m2, &r2, spec); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m1.Bytes(), m2.Bytes()) || !bytes.Equal(r1.Bytes(), r2.Bytes()) {
		t.Fatal("same Spec gave different bytes")
	}
	if truth.ManifestBytes != int64(m1.Len()) || truth.RunResultsBytes != int64(r1.Len()) {
		t.Errorf("sizes: truth %d/%d, written %d/%d", truth.ManifestBytes, truth.RunResultsBytes, m1.Len(), r1.Len())
	}
	var manifest struct {
		Metadata struct {
			InvocationID string `json:"invocation_id"`
		} `json:"metadata"`
		Nodes map[string]struct {
			ResourceType string `json:"resource_type"`
		} `json:"nodes"`
		ParentMap map[string][]string `json:"parent_map"`
	}
	if err := json.Unmarshal(m1.Bytes(), &manifest); err != nil {
		t.Fatalf("manifest is not valid JSON: %v", err)
	}
	var rr struct {
		Metadata struct {
			InvocationID string `json:"invocation_id"`
		} `json:"metadata"`
		Results []struct {
			UniqueID string `json:"unique_id"`
			Status   string `json:"status"`
		} `json:"results"`
	}
	if err := json.Unmarshal(r1.Bytes(), &rr); err != nil {
		t.Fatalf("run_results is not valid JSON: %v", err)
	}
	if len(manifest.Nodes) != spec.Nodes || len(rr.Results) != spec.Nodes {
		t.Errorf("got %d nodes and %d results, want %d", len(manifest.Nodes), len(rr.Results), spec.Nodes)
	}
	if manifest.Metadata.InvocationID != truth.InvocationID || rr.Metadata.InvocationID != truth.InvocationID {
		t.Error("invocation ids differ")
	}
	for _, r := range rr.Results {
		if truth.Status[r.UniqueID] != r.Status {
			t.Errorf("%s: file says %q, truth %q", r.UniqueID, r.Status, truth.Status[r.UniqueID])
		}
		if _, ok := manifest.Nodes[r.UniqueID]; !ok {
			t.Errorf("%s has no manifest node", r.UniqueID)
		}
	}
	if truth.Counts["error"] == 0 || truth.Counts["fail"] == 0 || truth.Counts["warn"] == 0 || truth.Counts["skipped"] == 0 {
		t.Errorf("want some errors, failures, warnings and skips, got %v", truth.Counts)
	}
	// Every cause of a skip is a failing ancestor.
	for id, causes := range truth.CausedBy {
		if len(causes) == 0 {
			t.Errorf("%s skipped without cause", id)
		}
		for _, c := range causes {
			if st := truth.Status[c]; st != "error" && st != "fail" {
				t.Errorf("%s caused by %s whose status is %q", id, c, st)
			}
		}
	}
}

// BenchmarkWrite measures generation speed; MB/s counts both files.
func BenchmarkWrite(b *testing.B) {
	var n int64
	for b.Loop() {
		var m, r countingDiscard
		truth, err := Write(&m, &r, Spec{Nodes: 13500, Seed: 1}) // about 30 MB of manifest
		if err != nil {
			b.Fatal(err)
		}
		n = truth.ManifestBytes + truth.RunResultsBytes
	}
	b.SetBytes(n)
}

type countingDiscard struct{ n int64 }

func (c *countingDiscard) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }
