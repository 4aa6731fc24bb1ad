package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/boltfetch/boltfetch/internal/sharedtest"
)

// seedPayload is the subset of a completed webhook payload the tests read.
type seedPayload struct {
	APIURL   string `json:"api_url"`
	Commands []struct {
		ID            int64  `json:"id"`
		APIQuery      string `json:"api_query"`
		JSONResources []struct {
			ID            int64  `json:"id"`
			Path          string `json:"path"`
			ResourceQuery string `json:"resource_query"`
		} `json:"json_resources"`
	} `json:"commands"`
}

func loadSeed(tb testing.TB) seedPayload {
	tb.Helper()
	b, err := os.ReadFile(sharedtest.Fixture(tb, "paradime/completed.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var p seedPayload
	if err := json.Unmarshal(b, &p); err != nil {
		tb.Fatal(err)
	}
	if len(p.Commands) == 0 {
		tb.Fatal("seed payload has no commands")
	}
	return p
}

func TestCheckQuerySeedDocuments(t *testing.T) {
	t.Parallel()
	p := loadSeed(t)
	n := 0
	for _, c := range p.Commands {
		if _, _, err := checkPayloadQuery(c.APIQuery, fieldCommand, c.ID); err != nil {
			t.Errorf("command %d api_query refused: %v", c.ID, err)
		}
		n++
		for _, r := range c.JSONResources {
			if _, _, err := checkPayloadQuery(r.ResourceQuery, fieldResourceURL, r.ID); err != nil {
				t.Errorf("resource %d resource_query refused: %v", r.ID, err)
			}
			n++
		}
	}
	if n != 8 {
		t.Errorf("checked %d seed documents, want 8", n)
	}
}

const seedCommandQuery = "query BoltCommand {\n boltCommand(commandId: 193439) {\n command\n startDttm\n endDttm\n stdout\n stderr\n returnCode\n scheduleRunId\n resources {\n id\n path\n }\n }\n}"

func TestCheckQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		doc    string
		refuse string // substring of the reason; "" = accepted
	}{
		{"seed command", seedCommandQuery, ""},
		{"seed resource", "query BoltResourceUrl {\n boltResourceUrl(resourceId: 1205731) {\n ok\n url\n }\n}", ""},
		{"shorthand", "{ boltCommand(commandId: 1) { stdout } }", ""},
		{"one line", "query Q{boltCommand(commandId:1){stdout stderr}}", ""},
		{"comments and commas", "# leading\nquery Q { # c\n boltCommand(commandId: 1,) { stdout, # x\n stderr } } # trailing", ""},
		{"CRLF and tabs", "query Q {\r\n\tboltCommand(commandId: 1) {\r\n\t\tstdout\r\n\t}\r\n}\r\n", ""},
		{"BOM", "\ufeffquery Q { boltCommand(commandId: 1) { stdout } }", ""},
		{"alias", "query Q { c: boltCommand(commandId: 1) { out: stdout } }", ""},
		{"typename root", "query Q { __typename boltCommand(commandId: 1) { stdout } }", ""},
		{"both allowed roots", "query Q { boltCommand(commandId: 1) { stdout } boltResourceUrl(resourceId: 2) { ok url } }", ""},
		{"inline fragment on Query", "query Q { ... on Query { boltCommand(commandId: 1) { stdout } } }", ""},
		{"untyped inline fragment", "query Q { ... { boltCommand(commandId: 1) { stdout } } }", ""},
		{"root spread", "query Q { ...F } fragment F on Query { boltCommand(commandId: 1) { stdout } }", ""},
		{"nested spread", "query Q { boltCommand(commandId: 1) { ...C } } fragment C on BoltCommand { stdout resources { id } }", ""},
		{"include skip", "query Q { boltCommand(commandId: 1) @include(if: true) { stdout @skip(if: false) } }", ""},
		{"description string in selection ok", "query Q { boltCommand(commandId: 1) { stdout } }", ""},

		{"empty", "", "empty"},
		{"blank", " \n\t# only a comment\n", "no operation"},
		{"parse error", "query Q { boltCommand(commandId: 1) { stdout }", "parse error"},
		{"garbage", "DROP TABLE runs", "parse error"},
		{"mutation", "mutation M { triggerBoltRun(scheduleName: \"x\") { runId } }", "mutation"},
		{"mutation named like query", "mutation BoltCommand { boltCommand(commandId: 1) { stdout } }", "mutation"},
		{"subscription", "subscription S { boltCommand(commandId: 1) { stdout } }", "subscription"},
		{"two operations", "query A { boltCommand(commandId: 1) { stdout } } query B { boltCommand(commandId: 2) { stdout } }", "2 operations"},
		{"query and mutation", "query A { boltCommand(commandId: 1) { stdout } } mutation B { cancelBoltRun(runId: 1) { ok } }", "2 operations"},
		{"other root", "query Q { listBoltRuns(offset: 0, limit: 10) { ok } }", "listBoltRuns"},
		{"other root beside allowed", "query Q { boltCommand(commandId: 1) { stdout } boltRunStatus(runId: 1) { state } }", "boltRunStatus"},
		{"schema introspection", "query Q { __schema { types { name } } }", "__schema"},
		{"type introspection", "query Q { __type(name: \"Query\") { name } }", "__type"},
		{"alias hiding other root", "query Q { boltCommand: listBoltRuns(offset: 0, limit: 1) { ok } }", "listBoltRuns"},
		{"root spread to other field", "query Q { ...F } fragment F on Query { listBoltRuns(offset: 0, limit: 1) { ok } }", "listBoltRuns"},
		{"nested root spread", "query Q { ...F } fragment F on Query { ...G } fragment G on Query { __schema { types { name } } }", "__schema"},
		{"inline fragment to other field", "query Q { ... on Query { boltRunStatus(runId: 1) { state } } }", "boltRunStatus"},
		{"inline fragment on Mutation", "query Q { ... on Mutation { boltCommand(commandId: 1) { stdout } } }", "Mutation"},
		{"root spread on Mutation", "query Q { ...F } fragment F on Mutation { boltCommand(commandId: 1) { stdout } }", "Mutation"},
		{"undefined fragment", "query Q { boltCommand(commandId: 1) { ...Nope } }", "not defined"},
		{"fragment cycle", "query Q { boltCommand(commandId: 1) { ...A } } fragment A on C { ...B } fragment B on C { ...A }", "cycle"},
		{"self cycle at root", "query Q { ...A } fragment A on Query { ...A }", "cycle"},
		{"unused fragment", "query Q { boltCommand(commandId: 1) { stdout } } fragment F on Mutation { cancelBoltRun(runId: 1) { ok } }", "never used"},
		{"duplicate fragment", "query Q { boltCommand(commandId: 1) { ...F } } fragment F on C { stdout } fragment F on C { stderr }", "twice"},
		{"variables", "query Q($id: Int!) { boltCommand(commandId: $id) { stdout } }", "variables"},
		{"variable id without declaration", "query Q { boltCommand(commandId: $id) { stdout } }", "integer literal"},
		{"string id", "query Q { boltCommand(commandId: \"1\") { stdout } }", "integer literal"},
		{"float id", "query Q { boltCommand(commandId: 1.5) { stdout } }", "integer literal"},
		{"huge id", "query Q { boltCommand(commandId: 99999999999999999999) { stdout } }", "64-bit"},
		{"no id", "query Q { boltCommand { stdout } }", "exactly one argument"},
		{"extra argument", "query Q { boltCommand(commandId: 1, cursor: \"x\") { stdout } }", "exactly one argument"},
		{"wrong argument", "query Q { boltResourceUrl(commandId: 1) { ok } }", "resourceId"},
		{"custom directive", "query Q { boltCommand(commandId: 1) @live { stdout } }", "@live"},
		{"operation directive", "query Q @cached { boltCommand(commandId: 1) { stdout } }", "@cached"},
		{"only typename", "query Q { __typename }", "neither"},
		{"too large", "query Q { boltCommand(commandId: 1) { stdout } }" + strings.Repeat(" ", maxDocumentBytes), "bytes"},
		{"too deep", "query Q { boltCommand(commandId: 1) { " + strings.Repeat("a { ", 40) + "b" + strings.Repeat(" }", 40) + " } }", "deeper"},
		{"schema definition", "type Query { x: Int }", "parse error"},
		{"fragment fan-out bomb", fragmentBomb(24), "expands to more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q, err := checkQuery(tt.doc)
			if tt.refuse == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				// What is sent must itself pass the guard unchanged.
				q2, err := checkQuery(q.Text)
				if err != nil {
					t.Fatalf("re-printed document refused: %v\n%s", err, q.Text)
				}
				if q2.Text != q.Text {
					t.Errorf("re-printing is not stable:\n%s\n---\n%s", q.Text, q2.Text)
				}
				return
			}
			var qr *QueryRefusedError
			if !errors.As(err, &qr) {
				t.Fatalf("got %v, want a *QueryRefusedError containing %q", err, tt.refuse)
			}
			if !strings.Contains(qr.Reason, tt.refuse) {
				t.Errorf("reason %q does not mention %q", qr.Reason, tt.refuse)
			}
		})
	}
}

func TestCheckPayloadQueryIDs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		doc    string
		field  string
		id     int64
		key    string
		refuse string
	}{
		{"seed", seedCommandQuery, fieldCommand, 193439, "boltCommand", ""},
		{"aliased", "{ x: boltCommand(commandId: 7) { stdout } }", fieldCommand, 7, "x", ""},
		{"other command", seedCommandQuery, fieldCommand, 193440, "", "asks for id 193439 but the payload lists id 193440"},
		{"resource doc for a command", "{ boltResourceUrl(resourceId: 7) { ok url } }", fieldCommand, 7, "", "exactly one boltCommand"},
		{"two commands", "{ a: boltCommand(commandId: 7) { stdout } b: boltCommand(commandId: 8) { stdout } }", fieldCommand, 7, "", "found 2"},
		{"command plus resource", "{ boltCommand(commandId: 7) { stdout } boltResourceUrl(resourceId: 9) { url } }", fieldCommand, 7, "", "found 2"},
		{"resource", "{ boltResourceUrl(resourceId: 9) { ok url } }", fieldResourceURL, 9, "boltResourceUrl", ""},
		{"other resource", "{ boltResourceUrl(resourceId: 9) { ok url } }", fieldResourceURL, 10, "", "asks for id 9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, root, err := checkPayloadQuery(tt.doc, tt.field, tt.id)
			if tt.refuse == "" {
				if err != nil {
					t.Fatal(err)
				}
				if root.Key != tt.key {
					t.Errorf("key %q, want %q", root.Key, tt.key)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.refuse) {
				t.Errorf("got %v, want a refusal mentioning %q", err, tt.refuse)
			}
		})
	}
}

// FuzzCheckQuery: the guard never panics; whatever it accepts has only
// allowed roots, and its re-printed form is accepted again, identically.
func FuzzCheckQuery(f *testing.F) {
	p := loadSeed(f)
	for _, c := range p.Commands {
		f.Add(c.APIQuery)
		for _, r := range c.JSONResources {
			f.Add(r.ResourceQuery)
		}
	}
	for _, s := range []string{
		"mutation { cancelBoltRun(runId: 1) { ok } }",
		"query { ...F } fragment F on Query { boltCommand(commandId: 1) { stdout } }",
		"{ a: boltCommand(commandId: 1) { ... on X { b } } __typename }",
		"query A { boltCommand(commandId: 1) { x } } query B { y }",
		"{ __schema { types { name } } }",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		q, err := checkQuery(doc)
		if err != nil {
			var qr *QueryRefusedError
			if !errors.As(err, &qr) {
				t.Fatalf("error is not a *QueryRefusedError: %T %v", err, err)
			}
			return
		}
		if len(q.Roots) == 0 {
			t.Fatal("accepted a document with no allowed root")
		}
		for _, r := range q.Roots {
			if r.Name != fieldCommand && r.Name != fieldResourceURL {
				t.Fatalf("accepted root %q", r.Name)
			}
		}
		q2, err := checkQuery(q.Text)
		if err != nil {
			t.Fatalf("re-printed document refused: %v\n%q\n%q", err, doc, q.Text)
		}
		if q2.Text != q.Text || len(q2.Roots) != len(q.Roots) {
			t.Fatalf("re-printing not stable:\n%q\n%q", q.Text, q2.Text)
		}
	})
}

func BenchmarkCheckQuery(b *testing.B) {
	b.SetBytes(int64(len(seedCommandQuery)))
	for b.Loop() {
		if _, err := checkQuery(seedCommandQuery); err != nil {
			b.Fatal(err)
		}
	}
}

// fragmentBomb builds a small document whose fragments each spread the next
// one twice: n links expand to 2^n selections.
func fragmentBomb(n int) string {
	var b strings.Builder
	b.WriteString("query Q { boltCommand(commandId: 1) { ...F0 } }\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "fragment F%d on BoltCommand { ...F%d ...F%d }\n", i, i+1, i+1)
	}
	fmt.Fprintf(&b, "fragment F%d on BoltCommand { stdout }\n", n)
	return b.String()
}
