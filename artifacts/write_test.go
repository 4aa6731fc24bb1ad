package artifacts

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// bigAnalysis has far more to say than a chat message can hold.
func bigAnalysis() *Analysis {
	a := &Analysis{Total: 5000, Counts: map[string]int{"error": 100, "skipped": 4900}, Warnings: []string{}, Warned: []Node{}}
	long := strings.Repeat("a line of a very long database error message ```with a fence```\n", 200)
	for i := range 100 {
		a.Failed = append(a.Failed, Node{UniqueID: fmt.Sprintf("model.p.m_%d", i), Status: "error", Message: long, OriginalFilePath: "models/m.sql"})
	}
	for i := range 4900 {
		a.Skipped = append(a.Skipped, Node{UniqueID: fmt.Sprintf("model.p.s_%d", i), Name: fmt.Sprintf("s_%d", i), Status: "skipped", CausedBy: []string{fmt.Sprintf("model.p.m_%d", i%100)}})
	}
	return a
}

func TestMarkdownIsBounded(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := bigAnalysis().WriteMarkdown(&buf); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	if len(md) > 20000 {
		t.Errorf("markdown is %d bytes, want a bounded summary", len(md))
	}
	for _, want := range []string{"... and 85 more", "... and 4410 more skipped in 90 more groups", "more lines", "**Failed (100)**", "**Skipped (4900)**"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	if strings.Count(md, "```") != 2*mdMaxNodes {
		t.Errorf("a fence inside a message leaked into the markdown: %d fences", strings.Count(md, "```"))
	}
}

func TestTextListsEverything(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := bigAnalysis().WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	txt := buf.String()
	if !strings.HasPrefix(txt, "5000 results: 100 error, 4900 skipped") {
		t.Errorf("headline: %q", txt[:80])
	}
	failedAt, skippedAt := strings.Index(txt, "FAILED (100)"), strings.Index(txt, "SKIPPED (4900)")
	if failedAt < 0 || skippedAt < failedAt {
		t.Error("failed nodes must come first, then skipped")
	}
	if !strings.Contains(txt, "because model.p.m_7 failed (49):") || !strings.Contains(txt, "model.p.s_4899") {
		t.Error("skipped nodes are not all listed by cause")
	}
}

// TestWhere: a node's location says "not in manifest" only when it is not.
func TestWhere(t *testing.T) {
	for _, tt := range []struct {
		n    Node
		want string
	}{
		{Node{OriginalFilePath: `models\a.sql`, InManifest: true}, `models\a.sql`},
		{Node{InManifest: true}, "(no file path in the manifest)"},
		{Node{}, "(not in manifest)"},
	} {
		if got := where(tt.n); got != tt.want {
			t.Errorf("where(%+v) = %q, want %q", tt.n, got, tt.want)
		}
	}
}
