package client

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
)

func TestWithEndpointHosts(t *testing.T) {
	t.Parallel()
	base, err := New(Config{
		Endpoint:   "https://api.eu.example.com/api/v1/tok/graphql",
		APIKey:     "key",
		APISecret:  "secret",
		AllowHosts: []string{"Bolt.Internal.Example.org:8443", "*.corp.example.net", "127.0.0.1", "[::1]", "xn--bcher-kva.example"},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		url   string
		host  string // normalised host on success
		allow bool
		why   string // substring of the refusal
	}{
		{"https://api.paradime.io/api/v1/t/graphql", "api.paradime.io", true, ""},
		{"https://api.us.paradime.io/api/v1/t/graphql", "api.us.paradime.io", true, ""},
		{"https://API.Demo.PARADIME.IO/api/v1/t/graphql", "api.demo.paradime.io", true, ""},
		{"https://api.paradime.io./api/v1/t/graphql", "api.paradime.io", true, ""},
		{"https://api.paradime.io:8443/api/v1/t/graphql", "api.paradime.io", true, ""},
		{"HTTPS://api.paradime.io/x", "api.paradime.io", true, ""},
		{"https://api.paradime.io/x#frag", "api.paradime.io", true, ""},
		{"https://api.eu.example.com:444/other/graphql", "api.eu.example.com", true, ""},
		{"https://bolt.internal.example.org/x", "bolt.internal.example.org", true, ""},
		{"https://a.b.corp.example.net/x", "a.b.corp.example.net", true, ""},
		{"http://127.0.0.1:9999/api/v1/t/graphql", "127.0.0.1", true, ""},
		{"http://[::1]:8080/x", "::1", true, ""},
		{"https://xn--bcher-kva.example/x", "xn--bcher-kva.example", true, ""},

		{"https://paradime.io/x", "paradime.io", false, "matches no allowed pattern"},
		{"https://paradime.io.evil.com/x", "paradime.io.evil.com", false, "matches no allowed pattern"},
		{"https://evilparadime.io/x", "evilparadime.io", false, "matches no allowed pattern"},
		{"https://api.paradime.io.evil.com/x", "api.paradime.io.evil.com", false, "matches no allowed pattern"},
		{"https://api.paradime.io@evil.com/x", "evil.com", false, "userinfo"},
		{"https://evil.com@api.paradime.io/x", "api.paradime.io", false, "userinfo"},
		{"https://user:pw@api.paradime.io/x", "api.paradime.io", false, "userinfo"},
		{"https://evil.com\\@api.paradime.io/x", "", false, ""},
		{"https://evil.com#@api.paradime.io/x", "evil.com", false, "matches no allowed pattern"},
		{"https://evil.com?@api.paradime.io/x", "evil.com", false, "matches no allowed pattern"},
		{"http://api.paradime.io/x", "api.paradime.io", false, "only https"},
		{"ftp://api.paradime.io/x", "api.paradime.io", false, "only https"},
		{"//api.paradime.io/x", "api.paradime.io", false, "only https"},
		{"api.paradime.io/x", "", false, "no host"},
		{"", "", false, "no host"},
		{"javascript:alert(1)", "", false, "no host"},
		{"https://127.0.0.2/x", "127.0.0.2", false, "loopback"},
		{"http://localhost:8080/x", "localhost", false, "loopback"},
		{"https://[::ffff:127.0.0.1]/x", "127.0.0.1", true, ""},
		{"https://[fe80::1%25eth0]/x", "fe80::1%eth0", false, "zones"},
		{"https://10.0.0.1/x", "10.0.0.1", false, "matches no allowed pattern"},
		{"https://corp.example.net/x", "corp.example.net", false, "matches no allowed pattern"},
		{"https://api.paradime.io..evil/x", "api.paradime.io..evil", false, "empty label"},
		{"https://api.xn--pardime-9ta.io/x", "api.xn--pardime-9ta.io", false, "matches no allowed pattern"},
		{"https://api.pаradime.io/x", "", false, "not ASCII"}, // Cyrillic а
		// Unicode lower-casing maps U+0130 and U+212A onto ASCII letters, but
		// net/http dials the punycode form: api.xn--paradime-t0e.io.
		{"https://api.parad\u0130me.io/api/v1/t/graphql", "", false, "not ASCII"},
		{"https://api.parad%C4%B0me.io/api/v1/t/graphql", "", false, "not ASCII"},
		{"https://\u212a.paradime.io/x", "", false, "not ASCII"},
		{"https://bücher.example/x", "", false, "punycode"},
		{"https://api.paradime.io%2eevil.com/x", "", false, ""},
		{"https://api.paradime.io:bad/x", "", false, ""},
		{"https://api.paradime.io:99999/x", "api.paradime.io", false, "out of range"},
		{"https://api.paradime.io:0/x", "api.paradime.io", false, "out of range"},
		{"http://127.0.0.1:65536/x", "127.0.0.1", false, "out of range"},
		{"https://api.paradime.io:00000000000000000000443/x", "api.paradime.io", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			t.Parallel()
			c, err := base.WithEndpoint(tt.url)
			if tt.allow {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if c.Host() != tt.host {
					t.Errorf("host %q, want %q", c.Host(), tt.host)
				}
				return
			}
			var he *HostNotAllowedError
			if !errors.As(err, &he) {
				t.Fatalf("got %v (%T), want *HostNotAllowedError", err, err)
			}
			switch tt.why {
			case "matches no allowed pattern", "loopback":
				if !he.Allowable || he.BadURL {
					t.Errorf("Allowable %v BadURL %v: allowing the host would admit it", he.Allowable, he.BadURL)
				}
			case "out of range", "userinfo", "no host", "not ASCII":
				if !he.BadURL || he.Allowable {
					t.Errorf("Allowable %v BadURL %v: the URL itself is unusable", he.Allowable, he.BadURL)
				}
			}
			if strings.Contains(err.Error(), " --") {
				t.Errorf("a library error words a CLI flag: %q", err)
			}
			if tt.host != "" && he.Host != tt.host {
				t.Errorf("names host %q, want %q", he.Host, tt.host)
			}
			if !strings.Contains(err.Error(), tt.why) {
				t.Errorf("error %q does not say %q", err, tt.why)
			}
			if strings.Contains(err.Error(), "/x") || strings.Contains(err.Error(), "/t/") {
				t.Errorf("error quotes the URL path: %q", err)
			}
		})
	}
}

func TestAllowHostsEntries(t *testing.T) {
	t.Parallel()
	bad := []string{"*", "*.io", "*.", "a.*.com", "https://x.example.com/", "*.127.0.0.1", "ex ample.com", "", " "}
	for _, e := range bad {
		_, err := New(Config{APIKey: "k", APISecret: "s", AllowHosts: []string{e}})
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Setting != SettingAllowHosts {
			t.Errorf("AllowHosts %q: got %v, want a *ConfigError", e, err)
		}
	}
	if _, err := New(Config{APIKey: "k", APISecret: "s", AllowHosts: []string{"*.example.com", "h.example.org:443", "[::1]"}}); err != nil {
		t.Errorf("good entries refused: %v", err)
	}
}

func TestLoopbackEndpointAllowsLoopbackPayload(t *testing.T) {
	t.Parallel()
	c, err := New(Config{Endpoint: "http://127.0.0.1:1/api/v1/t/graphql", APIKey: "k", APISecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WithEndpoint("http://127.0.0.1:2/api/v1/t/graphql"); err != nil {
		t.Errorf("same loopback host, other port: %v", err)
	}
	if _, err := c.WithEndpoint("http://localhost:1/api/v1/t/graphql"); err == nil {
		t.Error("localhost accepted though only 127.0.0.1 was configured")
	}
	for _, ep := range []string{"http://api.paradime.io/api/v1/t/graphql", "https://u:p@api.paradime.io/x", "api.paradime.io", "%%"} {
		if _, err := New(Config{Endpoint: ep, APIKey: "k", APISecret: "s"}); err == nil {
			t.Errorf("endpoint %q accepted", ep)
		} else if strings.Contains(err.Error(), "/t/") {
			t.Errorf("error quotes the endpoint path: %v", err)
		}
	}
}

// FuzzAllowList: whatever api_url is accepted is https under *.paradime.io
// or an explicitly named host, without userinfo; nothing panics.
func FuzzAllowList(f *testing.F) {
	for _, s := range []string{
		"https://api.demo.paradime.io/api/v1/uany7edagtovarzx/graphql",
		"https://api.paradime.io@evil.com/", "http://127.0.0.1:1/x", "https://[::1]/",
		"https://evilparadime.io/", "https://x.paradime.io./", "https://X.PARADIME.IO:443/",
	} {
		f.Add(s)
	}
	al, err := newAllowList("api.eu.example.com", []string{"127.0.0.1", "*.corp.example.net"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, host, err := al.check(raw)
		if err != nil {
			var he *HostNotAllowedError
			if !errors.As(err, &he) {
				t.Fatalf("%T %v", err, err)
			}
			return
		}
		if u.User != nil {
			t.Fatalf("accepted userinfo: %q", raw)
		}
		switch {
		case host == "127.0.0.1":
			if u.Scheme != "http" && u.Scheme != "https" {
				t.Fatalf("loopback with scheme %q", u.Scheme)
			}
		case u.Scheme != "https":
			t.Fatalf("accepted scheme %q for %q", u.Scheme, raw)
		case host == "api.eu.example.com",
			strings.HasSuffix(host, ".paradime.io") && len(host) > len(".paradime.io"),
			strings.HasSuffix(host, ".corp.example.net") && len(host) > len(".corp.example.net"):
		default:
			t.Fatalf("accepted host %q from %q", host, raw)
		}
		if n, err := normaliseHost(u.Hostname()); err != nil || n != host {
			t.Fatalf("host %q re-normalises to %q (%v)", host, n, err)
		}
	})
}

// TestUnicodeAllowHostRefused: an allow-host entry is checked like a host.
func TestUnicodeAllowHostRefused(t *testing.T) {
	t.Parallel()
	for _, entry := range []string{"bücher.example", "*.parad\u0130me.io", "api.parad\u0130me.io"} {
		_, err := New(Config{APIKey: "k", APISecret: "s", AllowHosts: []string{entry}})
		if err == nil || !strings.Contains(err.Error(), "punycode") {
			t.Errorf("AllowHosts %q: got %v, want a refusal naming the punycode form", entry, err)
		}
	}
}

// TestDialledHostIsCheckedHost sends through a bound client and records the
// address net/http dials: it must be the normalised host that the allow-list
// checked, never a differently spelled one. (A review found that a host
// lower-cased with Unicode rules passed as api.paradime.io and was dialled as
// api.xn--paradime-t0e.io, carrying the credentials.)
func TestDialledHostIsCheckedHost(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var dialled []string
	tr := &http.Transport{
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			mu.Lock()
			dialled = append(dialled, addr)
			mu.Unlock()
			return nil, errors.New("recorded, not connected")
		},
	}
	base, err := New(Config{APIKey: "key-1234", APISecret: "super-secret", HTTPClient: &http.Client{Transport: tr}, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ url, dial string }{
		{"https://API.Paradime.IO./api/v1/t/graphql", "api.paradime.io:443"},
		{"https://api.us.paradime.io:8443/api/v1/t/graphql", "api.us.paradime.io:8443"},
	} {
		c, err := base.WithEndpoint(tt.url)
		if err != nil {
			t.Fatalf("%s refused: %v", tt.url, err)
		}
		mu.Lock()
		dialled = nil
		mu.Unlock()
		_, _ = c.Command(context.Background(), 1)
		mu.Lock()
		got := append([]string(nil), dialled...)
		mu.Unlock()
		if len(got) == 0 {
			t.Fatalf("%s: nothing dialled", tt.url)
		}
		for _, d := range got {
			if d != tt.dial {
				t.Errorf("%s: dialled %q, want %q", tt.url, d, tt.dial)
			}
		}
	}
	for _, u := range []string{"https://api.parad\u0130me.io/api/v1/t/graphql", "https://api.parad%C4%B0me.io/api/v1/t/graphql"} {
		if _, err := base.WithEndpoint(u); err == nil {
			t.Errorf("%s was bound; it is dialled as api.xn--paradime-t0e.io", u)
		}
	}
}

func TestIsLoopbackHost(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST.": true, "app.localhost": true, "127.0.0.1": true, "127.9.9.9": true,
		"::1": true, "[::1]": true, "::ffff:127.0.0.1": true,
		"example.com": false, "localhost.example.com": false, "10.0.0.1": false, "": false, "l\u0131calhost": false,
	} {
		if got := IsLoopbackHost(host); got != want {
			t.Errorf("IsLoopbackHost(%q) = %t, want %t", host, got, want)
		}
	}
}
