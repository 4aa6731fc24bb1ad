// Package safetext makes untrusted strings (from webhook payloads and dbt
// artifacts) safe to print on a terminal or to embed in Markdown.
//
// The rule, for every text or Markdown writer of boltfetch: no byte of
// outside text reaches the output as a control. Concretely, these are
// replaced by a visible escape and never written raw:
//
//   - C0 controls U+0000–U+001F (ESC, CR, BS, BEL...) and DEL U+007F, as
//     `\x1b`; a context may allow \n and \t ([Text] does, [Line] does not);
//   - C1 controls U+0080–U+009F (CSI, OSC...), as `\u009b`;
//   - bidirectional controls U+202A–U+202E, U+2066–U+2069, U+200E, U+200F,
//     U+061C, and the line and paragraph separators U+2028, U+2029, as
//     `\u202e`;
//   - bytes that are not valid UTF-8, as `\xff`.
//
// Everything else passes unchanged, so ordinary text (accents, CJK, emoji)
// reads as written. Markdown helpers additionally escape what would turn text
// into markup ([Markdown], [Code]) and link only http(s) URLs ([Link]).
// JSON output needs none of this: it is exact by construction.
package safetext

import (
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// dangerous reports whether r must be escaped whatever the context.
func dangerous(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x200e, r == 0x200f, r == 0x061c, r == 0x2028, r == 0x2029:
		return true
	}
	return false
}

// escape neutralises s, letting through the controls in allow.
func escape(s string, allow string) string {
	// Fast path: printable ASCII (and allowed controls) only.
	clean := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f {
			if c < 0x80 && strings.IndexByte(allow, c) >= 0 {
				continue
			}
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x80 && strings.IndexByte(allow, byte(r)) >= 0:
			b.WriteByte(byte(r))
		case r < 0x80 && dangerous(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case dangerous(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// Line neutralises s for one line of terminal output: every control,
// newline and tab included, is shown escaped.
func Line(s string) string { return escape(s, "") }

// Text neutralises s for multi-line terminal output: newlines and tabs are
// kept, every other control is shown escaped (a carriage return as `\x0d`,
// so it cannot overwrite the line).
func Text(s string) string { return escape(s, "\n\t") }

// mdSpecial are the ASCII characters that Markdown (CommonMark, GitHub
// Flavored Markdown) may read as inline markup: emphasis, code, links and
// images, HTML and entities, strikethrough and table pipes. Each is escaped
// with a backslash (< and > as entities). Characters that are markup only at
// the start of a line (#, -, +, 1.) are left alone: the writers never start a
// line with outside text.
const mdSpecial = "\\`*_[]<>|~&"

// Markdown neutralises s as [Line] does, then escapes Markdown specials so
// that it reads as plain text: inside a paragraph, a list item or a table
// cell (pipes are escaped, newlines shown as `\n`, so a cell stays a cell).
func Markdown(s string) string {
	s = Line(s)
	if !strings.ContainsAny(s, mdSpecial) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '<':
			b.WriteString("&lt;")
		case c == '>':
			b.WriteString("&gt;")
		case strings.IndexByte(mdSpecial, c) >= 0:
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Code neutralises s as [Line] does for use inside a single-backtick code
// span: a backtick, which would end the span, becomes ', and a pipe becomes
// `\|`, which GitHub renders as | inside a table cell (outside a table the
// backslash shows; use it in tables or where s holds no pipe).
func Code(s string) string {
	s = Line(s)
	if !strings.ContainsAny(s, "`|") {
		return s
	}
	return strings.NewReplacer("`", "'", "|", `\|`).Replace(s)
}

// Block neutralises s as [Text] does for use inside a fenced code block:
// newlines stay, and a run of three backticks, which could close the fence,
// becomes ”'.
func Block(s string) string {
	return strings.ReplaceAll(Text(s), "```", "'''")
}

// SafeURL reports whether u is an absolute http or https URL with a host,
// the only URLs the writers turn into links.
func SafeURL(u string) bool {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return false
	}
	switch strings.ToLower(p.Scheme) {
	case "http", "https":
		return true
	}
	return false
}

// Link writes a Markdown link to u labelled label when u is an http(s) URL;
// otherwise, the label followed by u in plain escaped text, so that a
// javascript: or data: URL never becomes a link.
func Link(label, u string) string {
	if !SafeURL(u) || Line(u) != u {
		if u == "" {
			return Markdown(label)
		}
		return Markdown(label) + " (" + Markdown(u) + ")"
	}
	p, _ := url.Parse(u)
	// Re-encode: parentheses, spaces and angle brackets cannot end the link.
	href := strings.NewReplacer("(", "%28", ")", "%29", " ", "%20", "<", "%3C", ">", "%3E", "`", "%60", "|", "%7C").Replace(p.String())
	return "[" + Markdown(label) + "](" + href + ")"
}

// Clean reports whether s, as printed by a writer allowing the controls in
// allow, holds no raw control, bidi control or invalid UTF-8: the property
// the writers' tests check on their whole output.
func Clean(s, allow string) (bad rune, ok bool) {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			return utf8.RuneError, false
		}
		if dangerous(r) && !strings.ContainsRune(allow, r) {
			return r, false
		}
		i += size
	}
	return 0, true
}
