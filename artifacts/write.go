package artifacts

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Caps that keep the markdown summary within a Slack message or a GitHub
// comment whatever the size of the run.
const (
	mdMaxNodes       = 15  // failed or warned nodes listed
	mdMaxGroups      = 10  // groups of skipped nodes
	mdMaxPerGroup    = 10  // skipped nodes listed per group
	mdMaxMessageLine = 12  // lines of one message
	mdMaxMessageLen  = 800 // bytes of one message
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
	nodes  []Node
}

// skipGroups groups skipped nodes by cause, biggest group first; the group
// without a failing upstream comes last.
func (a *Analysis) skipGroups() []skipGroup {
	idx := map[string]int{}
	var groups []skipGroup
	for _, n := range a.Skipped {
		k := strings.Join(n.CausedBy, "\x00")
		i, ok := idx[k]
		if !ok {
			i = len(groups)
			idx[k] = i
			groups = append(groups, skipGroup{causes: n.CausedBy})
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
func (a *Analysis) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, a.headline())
	for _, warn := range a.Warnings {
		fmt.Fprintln(bw, "warning:", warn)
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
			fmt.Fprintf(bw, "  %s  [%s]  %s\n", n.UniqueID, n.Status, where(n))
			if n.Owner != "" {
				fmt.Fprintf(bw, "    owner: %s\n", n.Owner)
			}
			if n.Message != "" {
				for _, line := range strings.Split(strings.TrimRight(n.Message, "\n"), "\n") {
					fmt.Fprintf(bw, "    %s\n", line)
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
				fmt.Fprintf(bw, "  because %s failed (%d):\n", strings.Join(g.causes, ", "), len(g.nodes))
			}
			for _, n := range g.nodes {
				fmt.Fprintf(bw, "    %s\n", n.UniqueID)
			}
		}
	}
	return bw.Flush()
}

// WriteMarkdown writes a summary that fits a Slack message or a GitHub
// comment: lists and messages are capped, with "... and N more".
func (a *Analysis) WriteMarkdown(w io.Writer) error {
	bw := bufio.NewWriter(w)
	icon := "✅"
	switch {
	case len(a.Failed) > 0:
		icon = "❌"
	case len(a.Warned) > 0 || len(a.Skipped) > 0:
		icon = "⚠️"
	}
	fmt.Fprintf(bw, "%s %s\n", icon, mdEscape(a.headline()))
	for _, warn := range a.Warnings {
		fmt.Fprintf(bw, "\n> ⚠️ %s\n", mdEscape(warn))
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
			fmt.Fprintf(bw, "- `%s` (%s) in `%s`", mdCode(n.UniqueID), mdEscape(n.Status), mdCode(where(n)))
			if n.Owner != "" {
				fmt.Fprintf(bw, ", owner %s", mdEscape(n.Owner))
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
				causes := g.causes
				more := ""
				if len(causes) > 3 {
					more = fmt.Sprintf(" and %d more", len(causes)-3)
					causes = causes[:3]
				}
				fmt.Fprintf(bw, "- because `%s`%s failed (%d): ", mdCode(strings.Join(causes, "`, `")), more, len(g.nodes))
			}
			for i, n := range g.nodes {
				if i == mdMaxPerGroup {
					fmt.Fprintf(bw, " ... and %d more", len(g.nodes)-i)
					break
				}
				if i > 0 {
					bw.WriteString(", ")
				}
				fmt.Fprintf(bw, "`%s`", mdCode(n.Name))
			}
			fmt.Fprintln(bw)
		}
	}
	return bw.Flush()
}

// capMessage bounds a message to a few lines and bytes, and defuses code
// fences inside it.
func capMessage(msg string) string {
	msg = strings.TrimSpace(strings.ReplaceAll(msg, "```", "'''"))
	if lines := strings.Split(msg, "\n"); len(lines) > mdMaxMessageLine {
		msg = strings.Join(lines[:mdMaxMessageLine], "\n") + fmt.Sprintf("\n... and %d more lines", len(lines)-mdMaxMessageLine)
	}
	if len(msg) > mdMaxMessageLen {
		n := mdMaxMessageLen
		for n > 0 && msg[n]&0xC0 == 0x80 { // cut on a rune boundary
			n--
		}
		msg = msg[:n] + "\n... (message cut)"
	}
	return msg
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}

// mdEscape escapes the characters that would turn text into markup.
func mdEscape(s string) string {
	r := strings.NewReplacer("*", `\*`, "_", `\_`, "`", "'", "<", "&lt;", ">", "&gt;", "[", `\[`, "]", `\]`)
	return r.Replace(s)
}

// mdCode makes text safe inside a single-backtick code span.
func mdCode(s string) string { return strings.ReplaceAll(s, "`", "'") }
