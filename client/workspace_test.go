package client_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/boltfetch/boltfetch/client"
	"github.com/boltfetch/boltfetch/internal/fakebolt"
)

// TestWithWorkspace: with a company token, a client bound to a workspace
// sends that workspace as X-Paradime-Workspace (the fake authorizes only
// that one), before or after WithEndpoint, and the client it came from keeps
// sending the configured default; "" keeps the default. Key/secret and
// workspace-token clients are returned unchanged and send no such header.
func TestWithWorkspace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	workspaces := func(s *fakebolt.Server) []string {
		var out []string
		for _, h := range s.Stats().Headers[fakebolt.RouteGraphQL] {
			out = append(out, strings.Join(h.Values("X-Paradime-Workspace"), ","))
		}
		return out
	}

	t.Run("company token", func(t *testing.T) {
		t.Parallel()
		s, p, _ := startFake(t, fakebolt.Options{Token: "prdm_cmp_abc", WorkspaceUID: "ws-run"})
		cfg := fastConfig()
		cfg.APIKey, cfg.APISecret, cfg.WorkspaceUID = "", "prdm_cmp_abc", "ws-default"
		base, err := client.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		bound, err := base.WithEndpoint(p.APIURL)
		if err != nil {
			t.Fatal(err)
		}
		ws, err := bound.WithWorkspace("ws-run")
		if err != nil {
			t.Fatal(err)
		}
		if ws == bound || ws.Host() != bound.Host() {
			t.Fatalf("WithWorkspace gave %p (host %q) from %p (host %q), want a copy on the same endpoint", ws, ws.Host(), bound, bound.Host())
		}
		if _, err := ws.Command(ctx, 193441); err != nil {
			t.Fatalf("bound to the run's workspace: %v", err)
		}
		// The other order: workspace first, then the endpoint.
		ws2, err := base.WithWorkspace("ws-run")
		if err != nil {
			t.Fatal(err)
		}
		if ws2, err = ws2.WithEndpoint(p.APIURL); err != nil {
			t.Fatal(err)
		}
		if _, err := ws2.Command(ctx, 193441); err != nil {
			t.Fatalf("workspace, then endpoint: %v", err)
		}
		// The client it came from still names the default, which this fake
		// does not know; so does "".
		same, err := bound.WithWorkspace("")
		if err != nil || same != bound {
			t.Fatalf(`WithWorkspace("") = %p, %v; want the client itself`, same, err)
		}
		var ae *client.AuthError
		if _, err := bound.Command(ctx, 193441); !errors.As(err, &ae) || ae.StatusCode != http.StatusUnauthorized {
			t.Fatalf("the default workspace: %v, want *AuthError 401", err)
		}
		want := []string{"ws-run", "ws-run", "ws-default"}
		if got := workspaces(s); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("X-Paradime-Workspace per request = %q, want %q", got, want)
		}
		// A uid no header may carry is refused, not quoted.
		_, err = bound.WithWorkspace("ws\r\nX-Evil: 1")
		var we *client.WorkspaceError
		if !errors.As(err, &we) || strings.Contains(err.Error(), "X-Evil") {
			t.Errorf("a uid with CR LF: %v, want a *WorkspaceError not quoting it", err)
		}
	})

	for _, tc := range []struct {
		name string
		opts fakebolt.Options
		cfg  func(*client.Config)
	}{
		{"key and secret", fakebolt.Options{APIKey: "fake-key-1", APISecret: "fake-secret-1"}, func(*client.Config) {}},
		{"workspace token", fakebolt.Options{Token: "prdm_wsp_abc"}, func(c *client.Config) { c.APIKey, c.APISecret, c.WorkspaceUID = "", "prdm_wsp_abc", "ws-default" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, p, _ := startFake(t, tc.opts)
			cfg := fastConfig()
			cfg.Endpoint = p.APIURL
			tc.cfg(&cfg)
			c, err := client.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ws, err := c.WithWorkspace("ws-run")
			if err != nil || ws != c {
				t.Fatalf("WithWorkspace = %p, %v; want the client itself", ws, err)
			}
			if _, err := ws.Command(ctx, 193441); err != nil {
				t.Fatal(err)
			}
			if s.Stats().HeaderSeen(fakebolt.RouteGraphQL, "X-Paradime-Workspace") {
				t.Errorf("X-Paradime-Workspace sent: %q", workspaces(s))
			}
		})
	}
}
