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

	gotOut, gotErr, pages, cursor := pageLogs(t, s, 80, "", 4)
	if pages != 5 || cursor != "10:7" { // 17 lines, 4 a page
		t.Errorf("finished after %d pages at cursor %q, want 5 pages at 10:7", pages, cursor)
	}
	if gotOut != out.String() {
		t.Errorf("paged stdout = %q, want %q", gotOut, out.String())
	}
	if gotErr != errs.String() {
		t.Errorf("paged stderr = %q, want %q", gotErr, errs.String())
	}
}

func quoteOrNull(s *string) string {
	if s == nil {
		return "null"
	}
	return fmt.Sprintf("%q", *s)
}
