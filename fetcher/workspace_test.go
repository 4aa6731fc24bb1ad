package fetcher

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/boltfetch/boltfetch/client"
	"github.com/boltfetch/boltfetch/internal/demodata"
	"github.com/boltfetch/boltfetch/internal/fakebolt"
)

// TestFetchCompanyTokenPerPayload: with a company token, every API call of a
// follow-up names the payload's own workspace.uid (the fake authorizes only
// that workspace), so one receiver serves every workspace of a company; a
// payload without one falls back to the configured workspace. Downloads
// carry no workspace, and key/secret auth sends none at all.
func TestFetchCompanyTokenPerPayload(t *testing.T) {
	t.Parallel()
	const token, configured = "prdm_cmp_company", "ws-configured"
	run := demodata.Run()
	payloadWS := run.Workspace.UID
	companyClient := func(t *testing.T) *client.Client {
		return newClient(t, func(cfg *client.Config) {
			cfg.APIKey, cfg.APISecret, cfg.WorkspaceUID = "", token, configured
		})
	}
	// checkHeaders: every API call named want, no download named any.
	checkHeaders := func(t *testing.T, srv *fakebolt.Server, want string) {
		t.Helper()
		st := srv.Stats()
		api := st.Headers[fakebolt.RouteGraphQL]
		if len(api) == 0 || st.HeadersDropped != 0 {
			t.Fatalf("%d API calls recorded (%d dropped)", len(api), st.HeadersDropped)
		}
		for i, h := range api {
			if got := h.Values("X-Paradime-Workspace"); len(got) != 1 || got[0] != want {
				t.Errorf("API call %d: X-Paradime-Workspace = %q, want %q", i, got, want)
			}
		}
		if st.HeaderSeen(fakebolt.RouteDownload, "X-Paradime-Workspace") || st.HeaderSeen(fakebolt.RouteDownload, "Authorization") {
			t.Error("a download carried the workspace or the token")
		}
	}

	t.Run("the payload's workspace", func(t *testing.T) {
		t.Parallel()
		srv := startFake(t, fakebolt.Options{Token: token, WorkspaceUID: payloadWS}, run)
		st, dir := newStore(t)
		rep := fetch(t, payloadOf(t, srv, run.ID), fastOpts(companyClient(t), st))
		if !rep.Summary.Complete {
			t.Fatalf("incomplete: %+v", rep.Errors)
		}
		checkArchivedExact(t, dir, rep.Archive.Folder, run)
		checkHeaders(t, srv, payloadWS)
	})

	t.Run("no workspace in the payload", func(t *testing.T) {
		t.Parallel()
		srv := startFake(t, fakebolt.Options{Token: token, WorkspaceUID: configured}, run)
		payload := bytes.Replace(payloadOf(t, srv, run.ID), []byte(`"`+payloadWS+`"`), []byte(`""`), 1)
		st, _ := newStore(t)
		rep := fetch(t, payload, fastOpts(companyClient(t), st))
		if !rep.Summary.Complete || rep.Run.Workspace.UID != "" {
			t.Fatalf("complete %v, workspace %+v, errors %+v", rep.Summary.Complete, rep.Run.Workspace, rep.Errors)
		}
		checkHeaders(t, srv, configured)
	})

	t.Run("a workspace no header may carry", func(t *testing.T) {
		t.Parallel()
		srv := startFake(t, fakebolt.Options{Token: token, WorkspaceUID: payloadWS}, run)
		payload := bytes.Replace(payloadOf(t, srv, run.ID), []byte(`"`+payloadWS+`"`), []byte(`"ws\r\nX-Evil: 1"`), 1)
		st, _ := newStore(t)
		_, err := Fetch(context.Background(), bytes.NewReader(payload), fastOpts(companyClient(t), st))
		var pe *PayloadError
		if !errors.As(err, &pe) || pe.Path != "workspace.uid" || !errors.Is(err, ErrBadInput) {
			t.Fatalf("err = %v, want a PayloadError at workspace.uid", err)
		}
		if n := srv.Stats().Requests[fakebolt.RouteGraphQL]; n != 0 {
			t.Errorf("%d API calls for a refused payload", n)
		}
	})

	t.Run("key and secret", func(t *testing.T) {
		t.Parallel()
		srv := startFake(t, fakebolt.Options{}, run)
		st, _ := newStore(t)
		rep := fetch(t, payloadOf(t, srv, run.ID), fastOpts(newClient(t), st))
		if !rep.Summary.Complete {
			t.Fatalf("incomplete: %+v", rep.Errors)
		}
		stats := srv.Stats()
		if len(stats.Headers[fakebolt.RouteGraphQL]) == 0 {
			t.Fatal("no API call recorded")
		}
		for _, route := range []string{fakebolt.RouteGraphQL, fakebolt.RouteDownload} {
			if stats.HeaderSeen(route, "X-Paradime-Workspace") {
				t.Errorf("%s: X-Paradime-Workspace sent with key/secret auth", route)
			}
		}
	})
}
