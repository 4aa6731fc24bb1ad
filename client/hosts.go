package client

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// DefaultAllowPattern is always allowed: Paradime's own hosts.
const DefaultAllowPattern = "*.paradime.io"

// allowList decides which hosts a payload's api_url may point at.
type allowList struct {
	configured string   // normalised host of the configured endpoint, "" if none
	exact      []string // normalised exact hosts
	suffixes   []string // ".suffix" of each "*.suffix" pattern
}

// newAllowList parses AllowHosts entries: exact hosts (a port, if given, is
// ignored) or "*.suffix" patterns whose suffix has at least two labels.
func newAllowList(configuredHost string, entries []string) (allowList, error) {
	al := allowList{configured: configuredHost, suffixes: []string{"." + strings.TrimPrefix(DefaultAllowPattern, "*.")}}
	for _, raw := range entries {
		e := strings.TrimSpace(raw)
		if e == "" {
			return allowList{}, &ConfigError{Setting: SettingAllowHosts, Reason: "an empty entry"}
		}
		if rest, ok := strings.CutPrefix(e, "*."); ok {
			suffix, err := normaliseHost(rest)
			if err != nil {
				return allowList{}, &ConfigError{Setting: SettingAllowHosts, Value: raw, Reason: err.Error()}
			}
			if net.ParseIP(suffix) != nil || strings.Count(suffix, ".") < 1 {
				return allowList{}, &ConfigError{Setting: SettingAllowHosts, Value: raw, Reason: `too broad: a pattern needs at least two labels after "*.", such as *.example.com`}
			}
			al.suffixes = append(al.suffixes, "."+suffix)
			continue
		}
		if strings.Contains(e, "*") {
			return allowList{}, &ConfigError{Setting: SettingAllowHosts, Value: raw, Reason: `only a leading "*." wildcard is supported`}
		}
		if strings.Contains(e, "/") {
			return allowList{}, &ConfigError{Setting: SettingAllowHosts, Value: raw, Reason: "give a host name, not a URL"}
		}
		h := e
		if host, _, err := net.SplitHostPort(e); err == nil {
			h = host
		}
		n, err := normaliseHost(h)
		if err != nil {
			return allowList{}, &ConfigError{Setting: SettingAllowHosts, Value: raw, Reason: err.Error()}
		}
		al.exact = append(al.exact, n)
	}
	return al, nil
}

// normaliseHost lower-cases a host, drops IPv6 brackets and one trailing dot,
// and rejects anything that is not a plain ASCII DNS name or IP literal.
//
// Non-ASCII hosts are refused outright, written as Unicode or
// percent-encoded: net/http dials the IDNA (punycode) form of a Unicode
// host, which is not the name that would be checked here. "api.parad\u0130me.io"
// lower-cases to "api.paradime.io" under Unicode rules but is dialled as
// api.xn--paradime-t0e.io, a domain anyone can register. Users give the
// xn-- form instead, and what is checked is then what is dialled.
func normaliseHost(h string) (string, error) {
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if !isASCII(h) {
		return "", fmt.Errorf("host %q is not ASCII: give its punycode (xn--) form", h)
	}
	h = asciiLower(h)
	h = strings.TrimSuffix(h, ".")
	if h == "" {
		return "", fmt.Errorf("empty host")
	}
	if ip := net.ParseIP(h); ip != nil {
		return ip.String(), nil
	}
	if strings.Contains(h, "%") {
		return "", fmt.Errorf("host %q: zones and escapes are not allowed", h)
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" {
			return "", fmt.Errorf("host %q has an empty label", h)
		}
	}
	for _, r := range h {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '.', r == '_':
		default:
			return "", fmt.Errorf("host %q contains %q", h, r)
		}
	}
	return h, nil
}

// asciiLower lower-cases ASCII letters only: strings.ToLower maps some
// non-ASCII letters (U+0130, U+212A) onto ASCII ones.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] > 0x7f {
			return false
		}
	}
	return true
}

// IsLoopbackHost reports whether host (as in url.URL.Hostname, in any case,
// with or without a trailing dot) is localhost, a *.localhost name or a
// loopback IP. The fetcher uses the same rule for artifact URLs.
func IsLoopbackHost(host string) bool {
	h, err := normaliseHost(host)
	return err == nil && isLoopback(h)
}

// isLoopback reports whether a normalised host is localhost or a loopback IP.
func isLoopback(h string) bool {
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// explicit reports whether host was named exactly: the configured endpoint's
// host or an exact AllowHosts entry.
func (al allowList) explicit(host string) bool {
	if al.configured != "" && host == al.configured {
		return true
	}
	for _, e := range al.exact {
		if host == e {
			return true
		}
	}
	return false
}

// matchPattern reports whether a DNS host falls under a "*.suffix" pattern.
func (al allowList) matchPattern(host string) bool {
	if net.ParseIP(host) != nil {
		return false
	}
	for _, s := range al.suffixes {
		if len(host) > len(s) && strings.HasSuffix(host, s) {
			return true
		}
	}
	return false
}

// check validates a payload's api_url and returns it parsed with its host
// normalised. The error is a *HostNotAllowedError naming the host only.
func (al allowList) check(apiURL string) (*url.URL, string, error) {
	refuse := func(host, reason string) error {
		return &HostNotAllowedError{Host: host, Reason: reason}
	}
	bad := func(host, reason string) error {
		if host == "" {
			host = "(unparsable)"
		}
		return &HostNotAllowedError{Host: host, Reason: reason, BadURL: true}
	}
	u, err := url.Parse(strings.TrimSpace(apiURL))
	if err != nil {
		// url.Error would quote the whole URL, token included.
		return nil, "", bad("", "api_url is not a valid URL")
	}
	if u.Opaque != "" || u.Host == "" {
		return nil, "", bad("", "api_url has no host")
	}
	host, err := normaliseHost(u.Hostname())
	if err != nil {
		return nil, "", bad(u.Hostname(), "invalid host: "+err.Error())
	}
	if u.User != nil {
		return nil, "", bad(host, "api_url carries userinfo (user@host), which is never legitimate here")
	}
	if err := checkPort(u.Port()); err != nil {
		return nil, "", bad(host, err.Error())
	}
	scheme := strings.ToLower(u.Scheme)
	loop := isLoopback(host)
	switch {
	case loop:
		if !al.explicit(host) {
			return nil, "", &HostNotAllowedError{Host: host, Reason: "loopback hosts are used only when allowed explicitly", Allowable: true}
		}
		if scheme != "https" && scheme != "http" {
			return nil, "", refuse(host, fmt.Sprintf("scheme %q is not http(s)", scheme))
		}
	case scheme != "https":
		return nil, "", refuse(host, fmt.Sprintf("scheme %q: only https is allowed (plain http only for loopback hosts allowed explicitly)", scheme))
	case al.explicit(host), al.matchPattern(host):
	default:
		return nil, "", &HostNotAllowedError{Host: host, Reason: fmt.Sprintf("it is not the configured endpoint's host and matches no allowed pattern (%s)", al.patterns()), Allowable: true}
	}
	u.Scheme = scheme
	u.Host = joinHostPort(host, u.Port())
	u.Fragment, u.RawFragment = "", ""
	return u, host, nil
}

// checkPort accepts an empty port or a decimal port from 1 to 65535.
// net/url takes any digits, so that http://host:99999 would otherwise fail
// only when dialled, as a transport error, and be retried.
func checkPort(p string) error {
	if p == "" {
		return nil
	}
	for _, r := range p {
		if r < '0' || r > '9' {
			return errors.New("invalid port")
		}
	}
	if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %s is out of range (1-65535)", excerpt(p, 12))
	}
	return nil
}

// joinHostPort rebuilds a URL's host from the normalised host, so that the
// name that is dialled is exactly the name that was checked.
func joinHostPort(host, port string) string {
	if port != "" {
		return net.JoinHostPort(host, port)
	}
	if strings.Contains(host, ":") {
		return "[" + host + "]"
	}
	return host
}

func (al allowList) patterns() string {
	ps := make([]string, len(al.suffixes))
	for i, s := range al.suffixes {
		ps[i] = "*" + s
	}
	return strings.Join(ps, ", ")
}
