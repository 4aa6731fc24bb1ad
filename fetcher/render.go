package fetcher

import (
	"fmt"
	"io"
	"net/url"
	"path"
	"strings"
)

// WriteText writes a terminal summary: the run, each command with what was
// archived and its analysis, then every error.
func (rep *Report) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	r := rep.Run
	ew.printf("Bolt run %s (%s) in %s: %s\n", orDash(string(r.ID)), orDash(r.ScheduleName), orDash(workspaceName(r.Workspace)), orDash(r.Status))
	if r.RunURL != "" {
		ew.printf("  %s\n", r.RunURL)
	}
	if rep.NothingToFetch {
		ew.printf("Nothing to fetch: %s.\n", nothingReason(rep))
		return ew.err
	}
	ew.printf("Archive: %s/%s\n", rep.Archive.Location, rep.Archive.Folder)
	for _, c := range rep.Commands {
		ew.printf("\n== %s  %s  [%s%s]\n", orDash(string(c.ID)), c.Command, orDash(c.Status), rcText(c.ReturnCode))
		if dir := c.folder(); dir != "" {
			ew.printf("   in %s/\n", dir)
		}
		if c.Logs != nil && c.Logs.Stdout != nil && c.Logs.Stderr != nil {
			ew.printf("   stdout.log %s, stderr.log %s\n", humanBytes(c.Logs.Stdout.Bytes), humanBytes(c.Logs.Stderr.Bytes))
		}
		for _, a := range c.Artifacts {
			switch {
			case a.Error != nil:
				ew.printf("   %s FAILED: %s\n", a.Path, *a.Error)
			case a.Reused:
				ew.printf("   %s %s, already archived (%s)\n", a.Path, humanBytes(a.Bytes), shortSum(a.SHA256))
			default:
				ew.printf("   %s %s (%s)\n", a.Path, humanBytes(a.Bytes), shortSum(a.SHA256))
			}
		}
		if c.Analysis != nil {
			ew.printf("\n")
			if ew.err == nil {
				ew.err = c.Analysis.WriteText(&indent{w: w, prefix: "   "})
			}
		}
	}
	s := rep.Summary
	ew.printf("\nSummary: %d commands (%d failed in dbt), %d logs, %d artifacts (%d already archived), %s downloaded in %.1fs",
		s.Commands, s.CommandsFailed, s.LogsArchived, s.ArtifactsArchived, s.ArtifactsReused, humanBytes(s.BytesDownloaded), float64(s.DurationMS)/1000)
	if s.Analyses > 0 {
		ew.printf("; dbt nodes: %d failed, %d warned, %d skipped", s.NodesFailed, s.NodesWarned, s.NodesSkipped)
	}
	ew.printf(".\n")
	if len(rep.Errors) == 0 {
		ew.printf("Everything was fetched.\n")
		return ew.err
	}
	ew.printf("%s:\n", plural(len(rep.Errors), "follow-up error"))
	for _, e := range rep.Errors {
		ew.printf("  - %s\n", e.text())
	}
	return ew.err
}

// WriteMarkdown writes the report for a Slack or GitHub comment.
func (rep *Report) WriteMarkdown(w io.Writer) error {
	ew := &errWriter{w: w}
	r := rep.Run
	title := fmt.Sprintf("Bolt run %s", orDash(string(r.ID)))
	if r.RunURL != "" {
		title = fmt.Sprintf("[%s](%s)", title, r.RunURL)
	}
	ew.printf("## %s: %s\n\n", title, orDash(r.Status))
	ew.printf("Schedule `%s` in workspace `%s`", mdCode(orDash(r.ScheduleName)), mdCode(orDash(workspaceName(r.Workspace))))
	if r.Start != "" {
		ew.printf(", %s to %s", r.Start, orDash(r.End))
	}
	ew.printf(".\n\n")
	if rep.NothingToFetch {
		ew.printf("Nothing to fetch: %s.\n", nothingReason(rep))
		return ew.err
	}
	ew.printf("| command | status | logs | artifacts |\n| --- | --- | --- | --- |\n")
	for _, c := range rep.Commands {
		logs := "-"
		if c.Logs != nil && c.Logs.Stdout != nil {
			logs = "archived"
		}
		var arts []string
		for _, a := range c.Artifacts {
			if a.Error != nil {
				arts = append(arts, "`"+mdCode(a.Path)+"` **failed**")
			} else {
				arts = append(arts, "`"+mdCode(a.Path)+"` "+humanBytes(a.Bytes))
			}
		}
		ew.printf("| `%s` | %s%s | %s | %s |\n", mdCode(c.Command), mdCell(orDash(c.Status)), rcText(c.ReturnCode), logs, orDash(strings.Join(arts, "<br>")))
	}
	for _, c := range rep.Commands {
		if c.Analysis == nil {
			continue
		}
		ew.printf("\n### `%s`\n\n", mdCode(c.Command))
		if ew.err == nil {
			ew.err = c.Analysis.WriteMarkdown(w)
		}
	}
	if len(rep.Errors) > 0 {
		ew.printf("\n### Follow-up errors\n\n")
		for _, e := range rep.Errors {
			ew.printf("- %s\n", mdCell(e.text()))
		}
	}
	s := rep.Summary
	ew.printf("\n_%d commands, %d artifacts archived (%d already), %d errors, %.1fs._\n", s.Commands, s.ArtifactsArchived, s.ArtifactsReused, len(rep.Errors), float64(s.DurationMS)/1000)
	return ew.err
}

// folder is the command's archive folder, relative to the archive root.
func (c CommandReport) folder() string {
	if c.Logs != nil && c.Logs.Stdout != nil {
		return path.Dir(c.Logs.Stdout.Path)
	}
	for _, a := range c.Artifacts {
		if a.Location != "" {
			return strings.TrimSuffix(a.Location, "/"+a.Path)
		}
	}
	return ""
}

func (e ItemError) text() string {
	var where []string
	if e.CommandID != "" {
		where = append(where, "command "+string(e.CommandID))
	}
	if e.Path != "" {
		where = append(where, e.Path)
	} else if e.ResourceID != "" {
		where = append(where, "resource "+string(e.ResourceID))
	}
	loc := strings.Join(where, " ")
	if loc != "" {
		loc += ": "
	}
	return fmt.Sprintf("%s%s [%s/%s]", loc, e.Message, e.Stage, e.Kind)
}

func nothingReason(rep *Report) string {
	if rep.Event == "bolt.run.started" {
		return "the run has only started (a bolt.run.started payload has no commands yet)"
	}
	return "the payload lists no command"
}

func workspaceName(ws Workspace) string {
	if ws.Name != "" {
		return ws.Name
	}
	return ws.UID
}

func rcText(rc *int) string {
	if rc == nil {
		return ""
	}
	return fmt.Sprintf(", exit %d", *rc)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func shortSum(s string) string {
	if len(s) > 12 {
		return "sha256 " + s[:12]
	}
	return "sha256 " + s
}

// mdCode keeps outside text from breaking out of a code span.
func mdCode(s string) string { return strings.NewReplacer("`", "'", "\n", " ", "\r", " ").Replace(s) }

// mdCell keeps outside text inside one table cell or list item.
func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ", "<", "&lt;", ">", "&gt;").Replace(s)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// apiHost is what reports and logs may show of an api_url: its path holds a
// token.
func apiHost(apiURL string) string {
	u, err := url.Parse(apiURL)
	if err != nil {
		return ""
	}
	return u.Host
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

// indent prefixes every line written through it.
type indent struct {
	w      io.Writer
	prefix string
	mid    bool // the last write ended inside a line
}

func (in *indent) Write(p []byte) (int, error) {
	var b strings.Builder
	for _, line := range strings.SplitAfter(string(p), "\n") {
		if line == "" {
			continue
		}
		if !in.mid && line != "\n" {
			b.WriteString(in.prefix)
		}
		b.WriteString(line)
		in.mid = !strings.HasSuffix(line, "\n")
	}
	if _, err := io.WriteString(in.w, b.String()); err != nil {
		return 0, err
	}
	return len(p), nil
}

// plural says "1 follow-up error" or "2 follow-up errors".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
