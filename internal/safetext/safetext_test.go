package safetext

import (
	"strings"
	"testing"
)

func rawControl(s string, allow string) (rune, bool) {
	r, ok := Clean(s, allow)
	return r, !ok
}

func TestNeutralised(t *testing.T) {
	for _, h := range Hostile {
		for name, c := range map[string]struct {
			f     func(string) string
			allow string
		}{
			"Line": {Line, ""}, "Text": {Text, "\n\t"}, "Markdown": {Markdown, ""},
			"Code": {Code, ""}, "Block": {Block, "\n\t"},
		} {
			out := c.f(h)
			if r, bad := rawControl(out, c.allow); bad {
				t.Errorf("%s(%q) = %q keeps %U", name, h, out, r)
			}
		}
		if md := Markdown(h); strings.Count(md, "|") != strings.Count(md, `\|`) {
			t.Errorf("Markdown(%q) = %q has an unescaped pipe", h, md)
		}
		if c := Code(h); strings.Contains(c, "`") {
			t.Errorf("Code(%q) = %q keeps a backtick", h, c)
		}
		if b := Block(h); strings.Contains(b, "```") {
			t.Errorf("Block(%q) = %q keeps a fence", h, b)
		}
	}
}

func TestVisible(t *testing.T) {
	for in, want := range map[string]string{
		"\x1b[2J":       `\x1b[2J`,
		"a\rb":          `a\x0db`,
		"\u202eabc":     `\u202eabc`,
		"\xff":          `\xff`,
		"\u009b":        `\u009b`,
		"é 日本 🙂":        "é 日本 🙂",
		"plain text 42": "plain text 42",
	} {
		if got := Line(in); got != want {
			t.Errorf("Line(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Text("a\n\tb\r"); got != "a\n\tb\\x0d" {
		t.Errorf("Text kept %q", got)
	}
	if got := Line("a\nb"); got != `a\x0ab` {
		t.Errorf("Line(newline) = %q", got)
	}
	if got := Markdown("a|b *c* <d>"); got != `a\|b \*c\* &lt;d&gt;` {
		t.Errorf("Markdown = %q", got)
	}
}

func TestLink(t *testing.T) {
	for _, tt := range []struct{ url, want string }{
		{"https://app.paradime.io/bolt/run/1", "[run](https://app.paradime.io/bolt/run/1)"},
		{"http://h/a(b) c", "[run](http://h/a%28b%29%20c)"},
		{"javascript:alert(1)", `run (javascript:alert(1))`},
		{"JAVASCRIPT://x/%0aalert(1)", `run (JAVASCRIPT://x/%0aalert(1))`},
		{"data:text/html,<b>", `run (data:text/html,&lt;b&gt;)`},
		{"https://h/\x1b]0;x\x07", `run (https://h/\\x1b\]0;x\\x07)`}, // rendered: \x1b]0;x\x07
		{"//h/x", `run (//h/x)`},
		{"", "run"},
	} {
		if got := Link("run", tt.url); got != tt.want {
			t.Errorf("Link(%q) = %q, want %q", tt.url, got, tt.want)
		}
	}
}

// FuzzSafetext checks the rule on any input: no raw control, bidi control
// or invalid UTF-8 survives, and Markdown keeps every pipe escaped.
func FuzzSafetext(f *testing.F) {
	for _, h := range Hostile {
		f.Add(h, "https://x/"+h)
	}
	f.Fuzz(func(t *testing.T, s, u string) {
		for name, out := range map[string]string{"Line": Line(s), "Markdown": Markdown(s), "Code": Code(s), "Link": Link(s, u)} {
			if r, bad := rawControl(out, ""); bad {
				t.Fatalf("%s(%q) = %q keeps %U", name, s, out, r)
			}
		}
		for name, out := range map[string]string{"Text": Text(s), "Block": Block(s)} {
			if r, bad := rawControl(out, "\n\t"); bad {
				t.Fatalf("%s(%q) = %q keeps %U", name, s, out, r)
			}
		}
		if md := Markdown(s); strings.Count(md, "|") != strings.Count(md, `\|`) {
			t.Fatalf("Markdown(%q) = %q has an unescaped pipe", s, md)
		}
		if l := Link(s, u); strings.HasPrefix(l, "[") && !SafeURL(u) {
			t.Fatalf("Link(%q, %q) = %q links an unsafe URL", s, u, l)
		}
	})
}
