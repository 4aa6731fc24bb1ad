package fakebolt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	graphql "github.com/graph-gophers/graphql-go"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

type gqlRequest struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName"`
	Variables     map[string]any `json:"variables"`
}

type ctxKey struct{}

// reqInfo is what resolvers need from the HTTP request.
type reqInfo struct {
	base string // scheme://host the client reached us at, for artifact URLs
}

func (s *Server) serveGraphQL(w http.ResponseWriter, r *http.Request) {
	end := s.rec.begin(RouteGraphQL, r.Header, true)
	defer end()
	s.log.Debug("fakebolt: graphql request", "method", r.Method)

	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSONStatus(w, http.StatusMethodNotAllowed, "use POST")
		return
	}
	if !equal(r.PathValue("token"), s.opts.EndpointToken) {
		writeJSONStatus(w, http.StatusNotFound, "no such endpoint")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxRequestBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			writeJSONStatus(w, http.StatusRequestEntityTooLarge, "request body too large")
			return
		}
		writeJSONStatus(w, http.StatusBadRequest, "cannot read request body")
		return
	}
	var req gqlRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeJSONStatus(w, http.StatusBadRequest, "request body is not a GraphQL JSON request")
		return
	}

	fields, mutation := inspectDocument(req.Query, req.OperationName)
	s.rec.operation(fields, mutation)
	routes := []string{RouteGraphQL}
	for _, f := range fields {
		route := RouteField(f)
		routes = append(routes, route)
		defer s.rec.begin(route, r.Header, false)()
	}

	a := s.pickFaults(routes...)
	if s.preBody(w, r, a, func(w http.ResponseWriter, status int) { writeJSONStatus(w, status, "") }) {
		return
	}
	if !s.wait(w, r, s.opts.Latency) {
		return
	}
	if why := s.authorize(r.Header); why != "" {
		writeJSONStatus(w, http.StatusUnauthorized, "unauthorized: "+why)
		return
	}

	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	ctx := context.WithValue(r.Context(), ctxKey{}, reqInfo{base: scheme + "://" + r.Host})
	resp := s.schema.Exec(ctx, req.Query, req.OperationName, req.Variables)
	out, err := encodeResponse(resp)
	if err != nil {
		writeJSONStatus(w, http.StatusInternalServerError, "cannot encode response")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	s.writeBody(w, r, out, int64(out.Len()), a)
}

// encodeResponse encodes resp as encoding/json would, less its pass over
// Data: the engine's Data is already compact JSON, and re-compacting a
// megabyte of logs on every answer was most of the fake's own CPU (which,
// on a small machine, a benchmark of the client would pay for).
func encodeResponse(resp *graphql.Response) (*bytes.Buffer, error) {
	out := new(bytes.Buffer)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	out.WriteByte('{')
	sep := ""
	if len(resp.Errors) > 0 {
		out.WriteString(`"errors":`)
		if err := enc.Encode(resp.Errors); err != nil {
			return nil, err
		}
		out.Truncate(out.Len() - 1) // Encode's newline
		sep = ","
	}
	if len(resp.Data) > 0 {
		out.WriteString(sep + `"data":`)
		out.Write(resp.Data)
		sep = ","
	}
	if len(resp.Extensions) > 0 {
		out.WriteString(sep + `"extensions":`)
		if err := enc.Encode(resp.Extensions); err != nil {
			return nil, err
		}
		out.Truncate(out.Len() - 1)
	}
	out.WriteString("}\n")
	return out, nil
}

// inspectDocument returns the root fields of the operation that would run
// (fragments at the root included) and whether it is a mutation. A document
// that does not parse yields nothing: the engine reports the error.
func inspectDocument(query, opName string) (fields []string, mutation bool) {
	doc, err := parser.ParseQuery(&ast.Source{Input: query})
	if err != nil {
		return nil, false
	}
	var op *ast.OperationDefinition
	for _, o := range doc.Operations {
		if opName == "" || o.Name == opName {
			op = o
			break
		}
	}
	if op == nil {
		return nil, false
	}
	seen := map[string]bool{}
	visited := map[string]bool{}
	var walk func(ast.SelectionSet)
	walk = func(set ast.SelectionSet) {
		for _, sel := range set {
			switch sel := sel.(type) {
			case *ast.Field:
				if !seen[sel.Name] {
					seen[sel.Name] = true
					fields = append(fields, sel.Name)
				}
			case *ast.InlineFragment:
				walk(sel.SelectionSet)
			case *ast.FragmentSpread:
				if visited[sel.Name] {
					continue
				}
				visited[sel.Name] = true
				if def := doc.Fragments.ForName(sel.Name); def != nil {
					walk(def.SelectionSet)
				}
			}
		}
	}
	walk(op.SelectionSet)
	return fields, op.Operation == ast.Mutation
}

func requestInfo(ctx context.Context) reqInfo {
	ri, _ := ctx.Value(ctxKey{}).(reqInfo)
	return ri
}
