package fetcher

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/boltfetch/boltfetch/artifacts"
	"github.com/boltfetch/boltfetch/internal/safetext"
)

// tableCells counts the cells of a Markdown table row: its pipes that are
// not escaped, less one.
func tableCells(row string) int {
	n := 0
	for i := 0; i < len(row); i++ {
		switch row[i] {
		case '\\':
			i++
		case '|':
			n++
		}
	}
	return n - 1
}

// hasLink reports whether md holds a Markdown link: an unescaped "](" outside
// code spans and fenced blocks.
func hasLink(md string) bool {
	fenced := false
	for row := range strings.SplitSeq(md, "\n") {
		if strings.HasPrefix(strings.TrimSpace(row), "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		inCode := false
		for i := 0; i < len(row); i++ {
			switch {
			case row[i] == '\\' && !inCode:
				i++
			case row[i] == '`':
				inCode = !inCode
			case !inCode && strings.HasPrefix(row[i:], "]("):
				return true
			}
		}
	}
	return false
}

// TestRenderNeutralisesHostileStrings is the class test of the report's text
// and Markdown writers: every hostile string, in every string field of the
// report and of its embedded analysis, comes out with no raw control, bidi
// control or invalid UTF-8; tables keep their column count; only http(s)
// run URLs become links.
func TestRenderNeutralisesHostileStrings(t *testing.T) {
	t.Parallel()
	for _, h := range safetext.Hostile {
		rep := &Report{}
		safetext.FillStrings(reflect.ValueOf(rep), h)
		an := &artifacts.Analysis{}
		safetext.FillStrings(reflect.ValueOf(an), h)
		for i := range rep.Commands {
			rep.Commands[i].Analysis = an
		}
		rep.NothingToFetch = false
		for _, url := range []string{h, "javascript:alert(1)", "https://app.paradime.io/bolt/run/1"} {
			rep.Run.RunURL = url
			var txt, md bytes.Buffer
			if err := rep.WriteText(&txt); err != nil {
				t.Fatal(err)
			}
			if err := rep.WriteMarkdown(&md); err != nil {
				t.Fatal(err)
			}
			for name, out := range map[string]string{"text": txt.String(), "markdown": md.String()} {
				if r, ok := safetext.Clean(out, "\n\t"); !ok {
					t.Errorf("%s of %q keeps %U:\n%s", name, h, r, out)
				}
			}
			header := -1
			for row := range strings.SplitSeq(md.String(), "\n") {
				if !strings.HasPrefix(row, "| ") {
					continue
				}
				if header < 0 {
					header = tableCells(row)
				} else if n := tableCells(row); n != header {
					t.Errorf("markdown of %q: row %q has %d cells, the header %d", h, row, n, header)
				}
			}
			if header != 4 {
				t.Errorf("markdown of %q: table header has %d cells, want 4", h, header)
			}
			if linked := hasLink(md.String()); linked != (url == "https://app.paradime.io/bolt/run/1") {
				t.Errorf("markdown of %q with run_url %q: linked = %v", h, url, linked)
			}
		}
	}
}
