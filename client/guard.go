package client

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/formatter"
	"github.com/vektah/gqlparser/v2/parser"
)

// Limits of the query guard. A payload's documents are a few hundred bytes;
// anything near these limits is not from Paradime.
const (
	maxDocumentBytes = 64 << 10
	maxDocumentToken = 5000
	maxSelectionDeep = 32
	// maxExpanded bounds the selections visited with fragments expanded: a
	// fragment that spreads another twice, chained, doubles the work at each
	// link, so a 1 KB document could otherwise cost seconds here (and at
	// Paradime's server).
	maxExpanded = 2000
)

// Root fields a payload's document may select.
const (
	fieldCommand     = "boltCommand"
	fieldResourceURL = "boltResourceUrl"
)

// rootField is one root selection of an accepted document.
type rootField struct {
	Name  string // boltCommand or boltResourceUrl
	Key   string // response key: the alias, or the name
	ID    int64  // the commandId/resourceId literal
	HasID bool
}

// checkedQuery is a document the guard accepted.
type checkedQuery struct {
	Roots []rootField
	// Text is the document re-printed from the parsed tree: what is sent, so
	// that the server never parses anything other than what was checked.
	Text string
}

// CheckQuery is the query guard for GraphQL documents taken from a webhook
// payload. It accepts only exactly one `query` operation, without variables,
// whose root fields (through inline fragments and fragment spreads) are all
// boltCommand(commandId: <int>) or boltResourceUrl(resourceId: <int>), plus
// the harmless __typename. It refuses mutations, subscriptions, several
// operations, any other root field (introspection included), unknown
// directives, undefined or cyclic fragments and parse errors, with a
// *QueryRefusedError saying why.
func CheckQuery(document string) error {
	_, err := checkQuery(document)
	return err
}

func refusef(format string, args ...any) error {
	return &QueryRefusedError{Reason: fmt.Sprintf(format, args...)}
}

func checkQuery(document string) (*checkedQuery, error) {
	if len(document) > maxDocumentBytes {
		return nil, refusef("document is %d bytes, more than the %d allowed", len(document), maxDocumentBytes)
	}
	if strings.TrimSpace(document) == "" {
		return nil, refusef("document is empty")
	}
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Name: "payload", Input: document}, maxDocumentToken)
	if err != nil {
		return nil, refusef("parse error: %v", err)
	}
	switch len(doc.Operations) {
	case 0:
		return nil, refusef("no operation in the document")
	case 1:
	default:
		return nil, refusef("%d operations in one document; exactly one query is allowed", len(doc.Operations))
	}
	op := doc.Operations[0]
	if op.Operation != ast.Query {
		return nil, refusef("operation %q is a %s; only queries are sent", op.Name, op.Operation)
	}
	if len(op.VariableDefinitions) > 0 {
		return nil, refusef("the operation declares variables; payload documents carry none")
	}
	if err := checkDirectives(op.Directives); err != nil {
		return nil, err
	}
	fragments := map[string]*ast.FragmentDefinition{}
	for _, f := range doc.Fragments {
		if _, dup := fragments[f.Name]; dup {
			return nil, refusef("fragment %q is defined twice", f.Name)
		}
		if len(f.VariableDefinition) > 0 {
			return nil, refusef("fragment %q declares variables", f.Name)
		}
		if err := checkDirectives(f.Directives); err != nil {
			return nil, err
		}
		fragments[f.Name] = f
	}
	w := walker{fragments: fragments, used: map[string]bool{}}
	if err := w.root(op.SelectionSet, map[string]bool{}); err != nil {
		return nil, err
	}
	for name := range fragments {
		if !w.used[name] {
			return nil, refusef("fragment %q is defined but never used", name)
		}
	}
	if len(w.roots) == 0 {
		return nil, refusef("the query selects neither %s nor %s", fieldCommand, fieldResourceURL)
	}
	var b strings.Builder
	formatter.NewFormatter(&b, formatter.WithIndent(" ")).FormatQueryDocument(doc)
	return &checkedQuery{Roots: w.roots, Text: b.String()}, nil
}

// checkDirectives allows only the built-in @include and @skip: a custom
// directive may mean anything to the server.
func checkDirectives(ds ast.DirectiveList) error {
	for _, d := range ds {
		if d.Name != "include" && d.Name != "skip" {
			return refusef("directive @%s is not allowed", d.Name)
		}
	}
	return nil
}

type walker struct {
	fragments map[string]*ast.FragmentDefinition
	used      map[string]bool
	roots     []rootField
	visited   int // selections visited, fragments expanded
}

// visit counts one selection and refuses documents that expand too far.
func (w *walker) visit() error {
	w.visited++
	if w.visited > maxExpanded {
		return refusef("the document expands to more than %d selections (fragments spread repeatedly)", maxExpanded)
	}
	return nil
}

// root checks a selection set at the Query root. path holds the fragments
// being expanded, to refuse cycles.
func (w *walker) root(set ast.SelectionSet, path map[string]bool) error {
	for _, sel := range set {
		if err := w.visit(); err != nil {
			return err
		}
		switch s := sel.(type) {
		case *ast.Field:
			if err := checkDirectives(s.Directives); err != nil {
				return err
			}
			if s.Name == "__typename" {
				continue
			}
			if s.Name != fieldCommand && s.Name != fieldResourceURL {
				return refusef("root field %q is not allowed; only %s and %s are", s.Name, fieldCommand, fieldResourceURL)
			}
			rf, err := rootArgs(s)
			if err != nil {
				return err
			}
			if err := w.nested(s.SelectionSet, path, 1); err != nil {
				return err
			}
			w.roots = append(w.roots, rf)
		case *ast.InlineFragment:
			if err := checkDirectives(s.Directives); err != nil {
				return err
			}
			if s.TypeCondition != "" && s.TypeCondition != "Query" {
				return refusef("inline fragment on %q at the root; only Query is allowed", s.TypeCondition)
			}
			if err := w.root(s.SelectionSet, path); err != nil {
				return err
			}
		case *ast.FragmentSpread:
			f, err := w.enter(s, path)
			if err != nil {
				return err
			}
			if f.TypeCondition != "Query" {
				return refusef("fragment %q spread at the root is on %q; only Query is allowed", s.Name, f.TypeCondition)
			}
			path[s.Name] = true
			err = w.root(f.SelectionSet, path)
			delete(path, s.Name)
			if err != nil {
				return err
			}
		default:
			return refusef("unknown selection %T", sel)
		}
	}
	return nil
}

// nested checks selections below a root field: any field may be read there,
// but fragments must resolve without cycles and depth is bounded.
func (w *walker) nested(set ast.SelectionSet, path map[string]bool, depth int) error {
	if depth > maxSelectionDeep {
		return refusef("selections nest deeper than %d levels", maxSelectionDeep)
	}
	for _, sel := range set {
		if err := w.visit(); err != nil {
			return err
		}
		switch s := sel.(type) {
		case *ast.Field:
			if err := checkDirectives(s.Directives); err != nil {
				return err
			}
			if err := w.nested(s.SelectionSet, path, depth+1); err != nil {
				return err
			}
		case *ast.InlineFragment:
			if err := checkDirectives(s.Directives); err != nil {
				return err
			}
			if err := w.nested(s.SelectionSet, path, depth+1); err != nil {
				return err
			}
		case *ast.FragmentSpread:
			f, err := w.enter(s, path)
			if err != nil {
				return err
			}
			path[s.Name] = true
			err = w.nested(f.SelectionSet, path, depth+1)
			delete(path, s.Name)
			if err != nil {
				return err
			}
		default:
			return refusef("unknown selection %T", sel)
		}
	}
	return nil
}

func (w *walker) enter(s *ast.FragmentSpread, path map[string]bool) (*ast.FragmentDefinition, error) {
	if err := checkDirectives(s.Directives); err != nil {
		return nil, err
	}
	f, ok := w.fragments[s.Name]
	if !ok {
		return nil, refusef("fragment %q is used but not defined", s.Name)
	}
	if path[s.Name] {
		return nil, refusef("fragment %q spreads itself (a cycle)", s.Name)
	}
	w.used[s.Name] = true
	return f, nil
}

// rootArgs checks a root field's arguments: exactly its id argument, an
// integer literal.
func rootArgs(f *ast.Field) (rootField, error) {
	want := "commandId"
	if f.Name == fieldResourceURL {
		want = "resourceId"
	}
	rf := rootField{Name: f.Name, Key: f.Name}
	if f.Alias != "" {
		rf.Key = f.Alias
	}
	if len(f.Arguments) != 1 || f.Arguments[0].Name != want {
		return rf, refusef("%s must take exactly one argument, %s", f.Name, want)
	}
	v := f.Arguments[0].Value
	if v == nil || v.Kind != ast.IntValue {
		return rf, refusef("%s(%s:) must be an integer literal", f.Name, want)
	}
	id, err := strconv.ParseInt(v.Raw, 10, 64)
	if err != nil {
		return rf, refusef("%s(%s: %s) is not a 64-bit integer", f.Name, want, v.Raw)
	}
	rf.ID, rf.HasID = id, true
	return rf, nil
}
