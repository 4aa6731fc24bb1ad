package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDecodeOnce: the answer is decoded in one pass whatever the order and
// the company of its keys.
func TestDecodeOnce(t *testing.T) {
	t.Parallel()
	cmdJSON := `{"command":"dbt run","stdout":"ok\u00e9","resources":[{"id":"7","path":"target/manifest.json"}],"unknown":{"deep":[1,2,{"x":null}]}}`
	tests := []struct {
		name string
		body string
		want func(t *testing.T, cmd *Command, err error)
	}{
		{"other keys around", `{"extensions":{"cost":1},"data":{"other":{"a":[1]},"boltCommand":` + cmdJSON + `,"later":"x"},"trailer":1}`, func(t *testing.T, cmd *Command, err error) {
			if err != nil || cmd.Command != "dbt run" || cmd.Stdout != "oké" || len(cmd.Resources) != 1 || cmd.Resources[0].ID != 7 {
				t.Errorf("got %+v, %v", cmd, err)
			}
		}},
		{"errors after data win", `{"data":{"boltCommand":null},"errors":[{"message":"Command 1 does not exist"}]}`, func(t *testing.T, _ *Command, err error) {
			var nf *NotFoundError
			if !errors.As(err, &nf) || nf.ID != 1 {
				t.Errorf("got %T %v", err, err)
			}
		}},
		{"wrong shape beside errors", `{"data":{"boltCommand":"nope"},"errors":[{"message":"boom"}]}`, func(t *testing.T, _ *Command, err error) {
			var ge *GraphQLError
			if !errors.As(err, &ge) || !cmp.Equal(ge.Messages, []string{"boom"}) {
				t.Errorf("got %T %v", err, err)
			}
		}},
		{"wrong shape alone", `{"data":{"boltCommand":{"stdout":12}}}`, func(t *testing.T, _ *Command, err error) {
			var de *DecodeError
			if !errors.As(err, &de) || !strings.Contains(err.Error(), "boltCommand 1") {
				t.Errorf("got %T %v", err, err)
			}
		}},
		{"no data", `{}`, func(t *testing.T, _ *Command, err error) {
			var nf *NotFoundError
			if !errors.As(err, &nf) {
				t.Errorf("got %T %v", err, err)
			}
		}},
		{"data not an object", `{"data":[1]}`, func(t *testing.T, _ *Command, err error) {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Errorf("got %T %v", err, err)
			}
		}},
		{"not JSON", `<html>oops</html>`, func(t *testing.T, _ *Command, err error) {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Errorf("got %T %v", err, err)
			}
		}},
		{"invalid UTF-8 kept as text", "{\"data\":{\"boltCommand\":{\"stdout\":\"a\xffb\"}}}", func(t *testing.T, cmd *Command, err error) {
			if err != nil || !strings.HasPrefix(cmd.Stdout, "a") || !strings.HasSuffix(cmd.Stdout, "b") {
				t.Errorf("got %+v, %v", cmd, err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, rec, _ := setup(t, func(w http.ResponseWriter, r *http.Request, _ int, _ gqlRequest) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, tt.body)
			}, nil)
			cmd, err := c.Command(context.Background(), 1)
			tt.want(t, cmd, err)
			if n := rec.count(); n != 1 {
				t.Errorf("%d attempts: an answer that arrived whole is never retried", n)
			}
		})
	}
}

// TestBodyCutMidStreamIsRetried: a body cut before its end (chunked, so no
// Content-Length tells) is a transport error, retried, not a decode error.
func TestBodyCutMidStreamIsRetried(t *testing.T) {
	t.Parallel()
	c, rec, _ := setup(t, func(w http.ResponseWriter, r *http.Request, attempt int, _ gqlRequest) {
		if attempt == 1 {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"data":{"boltCommand":{"stdout":"`+strings.Repeat("x", 64<<10))
			http.NewResponseController(w).Flush()
			panic(http.ErrAbortHandler)
		}
		commandOK(w)
	}, nil)
	cmd, err := c.Command(context.Background(), 193442)
	if err != nil || cmd.Command != "dbt run" || rec.count() != 2 {
		t.Fatalf("got %v after %d attempts", err, rec.count())
	}
}

// FuzzDecodeResponse: any answer body decodes or fails cleanly, never
// panics, and a value reported found was really there.
func FuzzDecodeResponse(f *testing.F) {
	for _, s := range []string{
		`{"data":{"boltCommand":{"stdout":"x","resources":[{"id":"1","path":"p"}]}}}`,
		`{"data":null,"errors":[{"message":"m"}]}`,
		`{"errors":null}`, `{"data":{"boltCommand":null}}`, `[]`, `{"data":{"a":1,"boltCommand":{"returnCode":"x"}}}`,
		`{"data":{"boltCommand":{}}, "errors":[]}`, `{"data":{"boltCommand":{"stdout":"\ud800"}}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var cmd Command
		tgt := &responseTarget{key: fieldCommand, v: &cmd}
		var res gqlResponse
		err := decodeResponse(strings.NewReader(body), tgt, &res)
		if tgt.found && !tgt.data {
			t.Fatalf("found without data: %q", body)
		}
		if tgt.found && !strings.Contains(body, `"`) {
			t.Fatalf("found a value in %q", body)
		}
		raw := &responseTarget{raw: true}
		if err2 := decodeResponse(strings.NewReader(body), raw, &gqlResponse{}); (err == nil) != (err2 == nil) && err == nil {
			t.Fatalf("raw decode failed (%v) where the typed one succeeded: %q", err2, body)
		}
	})
}
