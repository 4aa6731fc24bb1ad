package fakebolt

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
)

func TestAuth(t *testing.T) {
	t.Parallel()
	const (
		wsp = "prdm_wsp_abc"
		ws  = "n0sg8br1m44k0ryj"
	)
	cmpServer := newServer(t, Options{Token: "prdm_cmp_xyz", WorkspaceUID: ws})
	wspServer := newServer(t, Options{Token: wsp})
	noKey := map[string]string{"X-API-KEY": "", "X-API-SECRET": ""}
	with := func(base map[string]string, kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name   string
		s      *Server
		header map[string]string
		want   int
	}{
		{"key and secret", wspServer, nil, 200},
		{"no credentials", wspServer, noKey, 401},
		{"key without secret", wspServer, map[string]string{"X-API-SECRET": ""}, 401},
		{"wrong secret", wspServer, map[string]string{"X-API-SECRET": "nope"}, 401},
		{"wrong key", wspServer, map[string]string{"X-API-KEY": "nope"}, 401},
		{"workspace bearer", wspServer, with(noKey, "Authorization", "Bearer "+wsp), 200},
		{"wrong bearer", wspServer, with(noKey, "Authorization", "Bearer prdm_wsp_other"), 401},
		{"basic scheme", wspServer, with(noKey, "Authorization", "Basic "+wsp), 401},
		{"bearer beats a valid key pair", wspServer, map[string]string{"Authorization": "Bearer wrong"}, 401},
		{"company bearer with workspace", cmpServer, with(noKey, "Authorization", "Bearer prdm_cmp_xyz", "X-Paradime-Workspace", ws), 200},
		{"company bearer without workspace", cmpServer, with(noKey, "Authorization", "Bearer prdm_cmp_xyz"), 401},
		{"company bearer, other workspace", cmpServer, with(noKey, "Authorization", "Bearer prdm_cmp_xyz", "X-Paradime-Workspace", "other"), 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := post(t, tt.s, CommandQuery(193439), tt.header)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.want, body)
			}
			for _, secret := range []string{testSecret, testKey, wsp, "prdm_cmp_xyz", "nope"} {
				if bytes.Contains(body, []byte(secret)) {
					t.Errorf("response echoes a credential: %s", body)
				}
			}
		})
	}
	if st := wspServer.Stats(); st.MutationsExecuted != 0 || st.Requests[RouteGraphQL] == 0 {
		t.Errorf("stats after auth table: %+v", st)
	}
}

func TestRequestChecks(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{MaxRequestBody: 1024})
	tests := []struct {
		name   string
		method string
		url    string
		body   string
		want   int
	}{
		{"other endpoint token", http.MethodPost, s.URL() + "/api/v1/other/graphql", `{"query":"{ __typename }"}`, 404},
		{"GET on the endpoint", http.MethodGet, s.APIURL(), "", 405},
		{"body over the cap", http.MethodPost, s.APIURL(), `{"query":"` + strings.Repeat(" ", 2048) + `{ __typename }"}`, 413},
		{"not JSON", http.MethodPost, s.APIURL(), `query { x }`, 400},
		{"unknown path", http.MethodGet, s.URL() + "/nowhere", "", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, tt.url, strings.NewReader(tt.body))
			req.Header.Set("X-API-KEY", testKey)
			req.Header.Set("X-API-SECRET", testSecret)
			resp, err := testClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
}
