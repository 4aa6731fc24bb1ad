package artifacts

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/boltfetch/boltfetch/internal/safetext"
)

// Caps that keep the text and markdown summaries bounded by their input, and
// the markdown one within a Slack message or a GitHub comment whatever the
// size of the run.
const (
	textMaxMessageLines = 60       // lines of one message in text
	textMaxMessageLen   = 16 << 10 // bytes of one message in text
	mdMaxNodes          = 15       // failed or warned nodes listed
	mdMaxGroups         = 10       // groups of skipped nodes
	mdMaxPerGroup       = 10       // skipped nodes listed per group
	mdMaxCauses         = 3        // causes named per group
	mdMaxMessageLine    = 12       // lines of one message
	mdMaxMessageLen     = 800      // bytes of one message
)

// countsLine says "22 results: 1 error, 7 pass, 13 skipped, 1 success".
func (a *Analysis) countsLine() string {
	keys := make([]string, 0, len(a.Counts))
	for k := range a.Counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		name := k
		if name == "" {
			name = "(no status)"
		}
		parts = append(parts, fmt.Sprintf("%d %s", a.Counts[k], name))
	}
	s := fmt.Sprintf("%d results", a.Total)
	if len(parts) > 0 {
		s += ": " + strings.Join(parts, ", ")
	}
	return s
}

// headline is the first line of a summary, unescaped: callers escape it.
func (a *Analysis) headline() string {
	var parts []string
	if a.DbtVersion != "" {
		parts = append(parts, "dbt "+a.DbtVersion)
	}
	if a.InvocationID != "" {
		parts = append(parts, "invocation "+a.InvocationID)
	}
	parts = append(parts, a.countsLine())
	return strings.Join(parts, " · ")
}

// skipGroup is the skipped nodes that share the same causes.
type skipGroup struct {
	causes []string
	count  int // all causes, of which causes holds the first MaxCausedBy
	nodes  []*Node
}

// skipGroups groups skipped nodes by cause, biggest group first; the group
// without a failing upstream comes last.
func (a *Analysis) skipGroups() []skipGroup {
	idx := map[string]int{}
	var groups []skipGroup
	var key []byte
	for j := range a.Skipped {
		n := &a.Skipped[j]
		count := max(n.CausedByCount, len(n.CausedBy))
		key = strconv.AppendInt(key[:0], int64(count), 10)
		for _, c := range n.CausedBy {
			key = append(append(key, 0), c...)
		}
		k := string(key)
		i, ok := idx[k]
		if !ok {
			i = len(groups)
			idx[k] = i
			groups = append(groups, skipGroup{causes: n.CausedBy, count: count})
		}
		groups[i].nodes = append(groups[i].nodes, n)
	}
	sort.SliceStable(groups, func(i, j int) bool {
		ei, ej := len(groups[i].causes) == 0, len(groups[j].causes) == 0
		if ei != ej {
			return ej
		}
		return len(groups[i].nodes) > len(groups[j].nodes)
	})
	return groups
}

// where says where a node is defined, unescaped.
func where(n Node) string {
	switch {
	case n.OriginalFilePath != "":
		return n.OriginalFilePath
	case !n.InManifest:
		return "(not in manifest)"
	}
	return "(no file path in the manifest)"
}

// WriteText writes a terminal summary: failed nodes first with their message
// and file, then warned nodes, then skipped nodes grouped by cause.
//
// Every string from the artifacts goes through internal/safetext: controls,
// bidi controls and invalid UTF-8 are shown escaped (`\x1b`, `\u202e`), and
// a one-line field stays on one line. A message keeps at most 60 lines and
// 16 KiB, and a cause list MaxCausedBy ids with "and N more", so that the
// output grows no faster than the input.
func (a *Analysis) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, safetext.Line(a.headline()))
	for _, warn := range a.Warnings {
		fmt.Fprintln(bw, "warning:", safetext.Line(warn))
	}
	if len(a.Failed)+len(a.Warned)+len(a.Skipped) == 0 {
		fmt.Fprintln(bw, "\nNothing failed, warned or was skipped.")
		return bw.Flush()
	}
	section := func(title string, nodes []Node) {
		if len(nodes) == 0 {
			return
		}
		fmt.Fprintf(bw, "\n%s (%d)\n", title, len(nodes))
		for _, n := range nodes {
			fmt.Fprintf(bw, "  %s  [%s]  %s\n", safetext.Line(n.UniqueID), safetext.Line(n.Status), safetext.Line(where(n)))
			if n.Owner != "" {
				fmt.Fprintf(bw, "    owner: %s\n", safetext.Line(n.Owner))
			}
			if n.Message != "" {
				msg := capText(strings.TrimRight(n.Message, "\n"), textMaxMessageLines, textMaxMessageLen)
				for line := range strings.SplitSeq(msg, "\n") {
					fmt.Fprintf(bw, "    %s\n", safetext.Text(line))
				}
			}
		}
	}
	section("FAILED", a.Failed)
	section("WARNED", a.Warned)
	if len(a.Skipped) > 0 {
		fmt.Fprintf(bw, "\nSKIPPED (%d)\n", len(a.Skipped))
		for _, g := range a.skipGroups() {
			if len(g.causes) == 0 {
				fmt.Fprintf(bw, "  with no failing node upstream (%d):\n", len(g.nodes))
			} else {
				causes := make([]string, len(g.causes))
				for i, c := range g.causes {
					causes[i] = safetext.Line(c)
				}
				fmt.Fprintf(bw, "  because %s%s failed (%d):\n", strings.Join(causes, ", "), andMore(g.count-len(causes)), len(g.nodes))
			}
			for _, n := range g.nodes {
				fmt.Fprintf(bw, "    %s\n", safetext.Line(n.UniqueID))
			}
		}
	}
	return bw.Flush()
}

func andMore(n int) string {
	if n <= 0 {
		return ""
	}
	return fmt.Sprintf(" and %d more", n)
}

// WriteMarkdown writes a summary that fits a Slack message or a GitHub
// comment: lists and messages are capped, with "... and N more".
//
// Every string from the artifacts goes through internal/safetext: text as
// escaped Markdown, ids and paths in code spans they cannot leave, messages
// in fenced blocks they cannot close, all with controls shown escaped.
func (a *Analysis) WriteMarkdown(w io.Writer) error {
	bw := bufio.NewWriter(w)
	icon := "✅"
	switch {
	case len(a.Failed) > 0:
		icon = "❌"
	case len(a.Warned) > 0 || len(a.Skipped) > 0:
		icon = "⚠️"
	}
	fmt.Fprintf(bw, "%s %s\n", icon, safetext.Markdown(a.headline()))
	for _, warn := range a.Warnings {
		fmt.Fprintf(bw, "\n> ⚠️ %s\n", safetext.Markdown(warn))
	}
	list := func(title string, nodes []Node) {
		if len(nodes) == 0 {
			return
		}
		fmt.Fprintf(bw, "\n**%s (%d)**\n", title, len(nodes))
		for i, n := range nodes {
			if i == mdMaxNodes {
				fmt.Fprintf(bw, "- ... and %d more\n", len(nodes)-i)
				break
			}
			fmt.Fprintf(bw, "- `%s` (%s) in `%s`", safetext.Code(n.UniqueID), safetext.Markdown(n.Status), safetext.Code(where(n)))
			if n.Owner != "" {
				fmt.Fprintf(bw, ", owner %s", safetext.Markdown(n.Owner))
			}
			fmt.Fprintln(bw)
			if msg := capMessage(n.Message); msg != "" {
				fmt.Fprintf(bw, "  ```\n%s\n  ```\n", indent(msg, "  "))
			}
		}
	}
	list("Failed", a.Failed)
	list("Warned", a.Warned)
	if len(a.Skipped) > 0 {
		fmt.Fprintf(bw, "\n**Skipped (%d)**\n", len(a.Skipped))
		groups := a.skipGroups()
		for gi, g := range groups {
			if gi == mdMaxGroups {
				rest := 0
				for _, g := range groups[gi:] {
					rest += len(g.nodes)
				}
				fmt.Fprintf(bw, "- ... and %d more skipped in %d more groups\n", rest, len(groups)-gi)
				break
			}
			if len(g.causes) == 0 {
				fmt.Fprintf(bw, "- with no failing node upstream (%d): ", len(g.nodes))
			} else {
				causes := g.causes[:min(len(g.causes), mdMaxCauses)]
				quoted := make([]string, len(causes))
				for i, c := range causes {
					quoted[i] = "`" + safetext.Code(c) + "`"
				}
				fmt.Fprintf(bw, "- because %s%s failed (%d): ", strings.Join(quoted, ", "), andMore(g.count-len(causes)), len(g.nodes))
			}
			for i, n := range g.nodes {
				if i == mdMaxPerGroup {
					fmt.Fprintf(bw, " ... and %d more", len(g.nodes)-i)
					break
				}
				if i > 0 {
					bw.WriteString(", ")
				}
				fmt.Fprintf(bw, "`%s`", safetext.Code(n.Name))
			}
			fmt.Fprintln(bw)
		}
	}
	return bw.Flush()
}

// capMessage bounds a message to a few lines and bytes for a fenced block,
// with controls neutralised and code fences inside it defused.
func capMessage(msg string) string {
	return safetext.Block(capText(strings.TrimSpace(msg), mdMaxMessageLine, mdMaxMessageLen))
}

// capText keeps at most maxLines lines and maxBytes bytes of s (cut on a
// character boundary), saying what was left out. It looks at no more of s
// than it keeps, so a huge message costs no more than its cap.
func capText(s string, maxLines, maxBytes int) string {
	tail := ""
	if len(s) > maxBytes {
		n := maxBytes
		for n > 0 && s[n]&0xC0 == 0x80 { // cut on a rune boundary
			n--
		}
		tail = fmt.Sprintf("\n... (message cut: %d more bytes)", len(s)-n)
		s = s[:n]
	}
	if nl := strings.Count(s, "\n"); nl >= maxLines {
		i := 0
		for range maxLines {
			i += strings.IndexByte(s[i:], '\n') + 1
		}
		more := fmt.Sprintf("\n... and %d more lines", nl+1-maxLines)
		if tail != "" {
			more += " and more bytes"
		}
		return s[:i-1] + more
	}
	return s + tail
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
