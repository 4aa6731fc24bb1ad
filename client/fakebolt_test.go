package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/boltfetch/boltfetch/client"
	"github.com/boltfetch/boltfetch/internal/fakebolt"
)

// payload is the part of a completed webhook payload this test follows.
type payload struct {
	APIURL   string `json:"api_url"`
	Commands []struct {
		ID            int64  `json:"id"`
		APIQuery      string `json:"api_query"`
		JSONResources []struct {
			ID            int64  `json:"id"`
			ResourceQuery string `json:"resource_query"`
		} `json:"json_resources"`
	} `json:"commands"`
}

func startFake(t *testing.T, opts fakebolt.Options) (*fakebolt.Server, payload, fakebolt.Run) {
	t.Helper()
	s := fakebolt.New(opts)
	run := fakebolt.SeedRun()
	for i := range run.Commands {
		for j := range run.Commands[i].Resources {
			run.Commands[i].Resources[j].Data = []byte(`{"metadata":{}}`)
		}
	}
	s.AddRun(run)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	raw, err := s.CompletedPayload(run.ID)
	if err != nil {
		t.Fatal(err)
	}
	var p payload
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	return s, p, run
}

func fastConfig() client.Config {
	return client.Config{
		APIKey:         "fake-key-1",
		APISecret:      "fake-secret-1",
		AllowHosts:     []string{"127.0.0.1"},
		RequestTimeout: 2 * time.Second,
		Timeout:        10 * time.Second,
		RetryWaitMin:   time.Millisecond,
		RetryWaitMax:   5 * time.Millisecond,
		MaxRetryAfter:  5 * time.Millisecond,
	}
}

// TestAgainstFakeBolt follows a completed payload end to end against the
// fake Bolt API's real GraphQL engine, with injected faults.
func TestAgainstFakeBolt(t *testing.T) {
	t.Parallel()
	s, p, run := startFake(t, fakebolt.Options{APIKey: "fake-key-1", APISecret: "fake-secret-1", LogPageSize: 3})
	s.SetFault(fakebolt.RouteField("boltResourceUrl"), fakebolt.Fault{FirstN: 2, Status: 503})
	s.SetFault(fakebolt.RouteField("boltCommand"), fakebolt.Fault{FirstN: 1, Status: 429, RetryAfter: "1"})

	base, err := client.New(fastConfig())
	if err != nil {
		t.Fatal(err)
	}
	c, err := base.WithEndpoint(p.APIURL)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i, pc := range p.Commands {
		cmd, err := c.PayloadCommand(ctx, pc.APIQuery, pc.ID)
		if err != nil {
			t.Fatalf("command %d: %v", pc.ID, err)
		}
		if cmd.Stdout != run.Commands[i].Stdout || cmd.Command != run.Commands[i].Command {
			t.Errorf("command %d: got %q / %d bytes of stdout", pc.ID, cmd.Command, len(cmd.Stdout))
		}
		for _, r := range pc.JSONResources {
			u, err := c.PayloadResourceURL(ctx, r.ResourceQuery, r.ID)
			if err != nil {
				t.Fatalf("resource %d: %v", r.ID, err)
			}
			if !strings.HasPrefix(u, s.URL()) {
				t.Errorf("resource %d: url %s", r.ID, client.RedactURL(u))
			}
		}
	}
	rs, err := c.RunStatus(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Commands) != len(run.Commands) || rs.Commands[3].ID != 193442 {
		t.Errorf("run status: %+v", rs)
	}
	lines, err := c.CommandLogs(ctx, 193442)
	if err != nil {
		t.Fatal(err)
	}
	var stdout []string
	for _, l := range lines {
		if l.Stream == "STDOUT" {
			stdout = append(stdout, l.Line)
		}
	}
	if want := strings.TrimSuffix(run.Commands[3].Stdout, "\n"); strings.Join(stdout, "\n") != want {
		t.Errorf("logs: %d lines, not the command's stdout", len(lines))
	}

	// Refused before anything is sent.
	if _, err := c.Exec(ctx, `mutation { cancelBoltRun(runId: 63187) { ok } }`); err == nil {
		t.Error("mutation accepted")
	}
	var nf *client.NotFoundError
	if _, err := c.Command(ctx, 999); !errors.As(err, &nf) || nf.ID != 999 {
		t.Errorf("missing command: %v", err)
	}

	st := s.Stats()
	if st.MutationsSeen != 0 || st.MutationsExecuted != 0 {
		t.Errorf("mutations seen %d, executed %d", st.MutationsSeen, st.MutationsExecuted)
	}
	if st.FaultsInjected[fakebolt.RouteField("boltResourceUrl")] != 2 || st.FaultsInjected[fakebolt.RouteField("boltCommand")] != 1 {
		t.Errorf("faults injected: %v", st.FaultsInjected)
	}
	for _, h := range st.Headers[fakebolt.RouteGraphQL] {
		if h.Get("X-API-KEY") != "fake-key-1" || !strings.HasPrefix(h.Get("User-Agent"), "boltfetch/") {
			t.Errorf("headers: key %q, UA %q", h.Get("X-API-KEY"), h.Get("User-Agent"))
		}
	}
}

func TestAgainstFakeBoltAuth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts fakebolt.Options
		cfg  func(*client.Config)
		ok   bool
	}{
		{"wrong secret", fakebolt.Options{APIKey: "fake-key-1", APISecret: "other"}, nil, false},
		{"company token", fakebolt.Options{Token: "prdm_cmp_abc", WorkspaceUID: "ws9"}, func(c *client.Config) { c.APIKey, c.APISecret, c.WorkspaceUID = "", "prdm_cmp_abc", "ws9" }, true},
		{"company token, other workspace", fakebolt.Options{Token: "prdm_cmp_abc", WorkspaceUID: "ws9"}, func(c *client.Config) { c.APISecret, c.WorkspaceUID = "prdm_cmp_abc", "ws1" }, false},
		{"workspace token", fakebolt.Options{Token: "prdm_wsp_abc"}, func(c *client.Config) { c.APISecret = "prdm_wsp_abc" }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, p, _ := startFake(t, tt.opts)
			cfg := fastConfig()
			cfg.Endpoint = p.APIURL
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			c, err := client.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Command(context.Background(), 193441)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ae *client.AuthError
			if !errors.As(err, &ae) || ae.StatusCode != http.StatusUnauthorized {
				t.Fatalf("got %v, want *AuthError 401", err)
			}
			if n := s.Stats().Requests[fakebolt.RouteGraphQL]; n != 1 {
				t.Errorf("%d requests, want 1 (401 is not retried)", n)
			}
		})
	}
}
