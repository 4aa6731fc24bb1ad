package fakebolt

import (
	"fmt"
	"strings"
	"testing"
)

// TestLogsOnly: a LogsOnly command answers empty stdout and stderr in
// boltCommand and boltRunStatus, while boltCommandLogs pages every line of
// both streams.
func TestLogsOnly(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{LogPageSize: 4})
	var out, errs strings.Builder
	for i := range 10 {
		fmt.Fprintf(&out, "out %d\n", i)
	}
	for i := range 7 {
		fmt.Fprintf(&errs, "err %d\n", i)
	}
	s.AddRun(Run{ID: 8, Status: "failed", Commands: []Command{{ID: 80, Command: "dbt build", Status: "failed", ReturnCode: 2,
		Stdout: out.String(), Stderr: errs.String(), LogsOnly: true}}})

	var cmd struct {
		Command string  `json:"command"`
		Stdout  *string `json:"stdout"`
		Stderr  *string `json:"stderr"`
	}
	field(t, query(t, s, `{ boltCommand(commandId: 80) { command stdout stderr } }`), "boltCommand", &cmd)
	if cmd.Command != "dbt build" || cmd.Stdout == nil || *cmd.Stdout != "" || cmd.Stderr == nil || *cmd.Stderr != "" {
		t.Errorf("boltCommand = {command: %q, stdout: %s, stderr: %s}, want empty (non-null) stdout and stderr", cmd.Command, quoteOrNull(cmd.Stdout), quoteOrNull(cmd.Stderr))
	}
	var st struct {
		Commands []struct {
			Stdout string `json:"stdout"`
			Stderr string `json:"stderr"`
		} `json:"commands"`
	}
	field(t, query(t, s, `{ boltRunStatus(runId: 8) { commands { stdout stderr } } }`), "boltRunStatus", &st)
	if len(st.Commands) != 1 || st.Commands[0].Stdout != "" || st.Commands[0].Stderr != "" {
		t.Errorf("boltRunStatus commands = %+v, want empty stdout and stderr", st.Commands)
	}

	var page struct {
		Lines []struct {
			Stream string `json:"stream"`
			Line   string `json:"line"`
		} `json:"lines"`
		Cursor   string `json:"cursor"`
		Finished bool   `json:"finished"`
	}
	cursor, pages := "", 0
	var gotOut, gotErr strings.Builder
	for !page.Finished {
		if pages++; pages > 10 {
			t.Fatalf("boltCommandLogs not finished after 10 pages (cursor %q)", cursor)
		}
		q := `{ boltCommandLogs(commandId: 80) { lines { stream line } cursor finished } }`
		if cursor != "" {
			q = fmt.Sprintf(`{ boltCommandLogs(commandId: 80, cursor: %q) { lines { stream line } cursor finished } }`, cursor)
		}
		page.Lines = nil
		field(t, query(t, s, q), "boltCommandLogs", &page)
		if len(page.Lines) > 4 {
			t.Fatalf("page of %d lines, want at most 4", len(page.Lines))
		}
		for _, l := range page.Lines {
			dst := &gotOut
			if l.Stream == "STDERR" {
				dst = &gotErr
			}
			dst.WriteString(l.Line + "\n")
		}
		cursor = page.Cursor
	}
	if pages != 5 || cursor != "10:7" { // 17 lines, 4 a page
		t.Errorf("finished after %d pages at cursor %q, want 5 pages at 10:7", pages, cursor)
	}
	if gotOut.String() != out.String() {
		t.Errorf("paged stdout = %q, want %q", gotOut.String(), out.String())
	}
	if gotErr.String() != errs.String() {
		t.Errorf("paged stderr = %q, want %q", gotErr.String(), errs.String())
	}
}

func quoteOrNull(s *string) string {
	if s == nil {
		return "null"
	}
	return fmt.Sprintf("%q", *s)
}
