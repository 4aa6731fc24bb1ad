package artifacts

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/boltfetch/boltfetch/internal/safetext"
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

// TestWritersNeutraliseHostileStrings is the class test of the text and
// markdown writers: every hostile string, in every string field of the
// analysis and of its nodes, comes out with no raw control, bidi control or
// invalid UTF-8, and the markdown keeps its structure.
func TestWritersNeutraliseHostileStrings(t *testing.T) {
	t.Parallel()
	for _, h := range safetext.Hostile {
		a := &Analysis{}
		safetext.FillStrings(reflect.ValueOf(a), h)
		for _, list := range [][]Node{a.Failed, a.Warned, a.Skipped} {
			for i := range list {
				list[i].Status = h // a hostile status still lands in its list
			}
		}
		var txt, md bytes.Buffer
		if err := a.WriteText(&txt); err != nil {
			t.Fatal(err)
		}
		if err := a.WriteMarkdown(&md); err != nil {
			t.Fatal(err)
		}
		for name, out := range map[string]string{"text": txt.String(), "markdown": md.String()} {
			if r, ok := safetext.Clean(out, "\n\t"); !ok {
				t.Errorf("%s of %q keeps %U:\n%s", name, h, r, out)
			}
		}
		// Outside text never opens a line of markdown, and fences pair up.
		for line := range strings.SplitSeq(md.String(), "\n") {
			if line != "" && !strings.HasPrefix(line, "- ") && !strings.HasPrefix(line, "  ") && !strings.HasPrefix(line, "> ") && !strings.HasPrefix(line, "**") && !strings.HasPrefix(line, "❌ ") {
				t.Errorf("markdown of %q has a line opened by outside text: %q", h, line)
			}
		}
		if n := strings.Count(md.String(), "```"); n != 2*(len(a.Failed)+len(a.Warned)) {
			t.Errorf("markdown of %q has %d fences, want %d", h, n, 2*(len(a.Failed)+len(a.Warned)))
		}
	}
}
