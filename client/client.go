package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/boltfetch/boltfetch/internal/retry"
	"github.com/boltfetch/boltfetch/internal/safetext"
)

// Client talks to Paradime's Bolt GraphQL API. It is safe for concurrent
// use. A Client made by New is bound to the configured endpoint (if any);
// WithEndpoint derives one bound to a payload's api_url.
type Client struct {
	cfg    Config
	log    *slog.Logger
	allow  allowList
	base   http.RoundTripper
	budget *retryBudget
	policy retry.Policy

	endpoint *url.URL // nil when none is bound
	host     string   // normalised endpoint host, for errors and logs
	secrets  []string // redacted from any outside text that reaches an error
	http     *http.Client
	headers  http.Header // credentials and fixed headers of every request
}

// New validates cfg, fills its defaults and returns a Client bound to
// cfg.Endpoint (or to nothing when it is empty).
func New(cfg Config) (*Client, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	var ep *url.URL
	var host string
	if cfg.Endpoint != "" {
		ep, host, err = parseEndpoint(cfg.Endpoint)
		if err != nil {
			return nil, err
		}
	}
	allow, err := newAllowList(host, cfg.AllowHosts)
	if err != nil {
		return nil, err
	}
	var base http.RoundTripper
	if cfg.HTTPClient != nil && cfg.HTTPClient.Transport != nil {
		base = cfg.HTTPClient.Transport
	} else {
		base = http.DefaultTransport.(*http.Transport).Clone()
	}
	c := &Client{cfg: cfg, log: cfg.Logger, allow: allow, base: base, budget: newRetryBudget(cfg.RetryBudget)}
	if ep == nil {
		c.secrets = baseSecrets(cfg)
		return c, nil
	}
	return c.bind(ep, host), nil
}

// parseEndpoint validates the configured endpoint. Its errors never quote
// the URL: its path holds a token.
func parseEndpoint(raw string) (*url.URL, string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.Host == "" {
		return nil, "", &ConfigError{Setting: SettingEndpoint, Reason: "not an absolute URL such as https://api.paradime.io/api/v1/<token>/graphql"}
	}
	host, err := normaliseHost(u.Hostname())
	if err != nil {
		return nil, "", &ConfigError{Setting: SettingEndpoint, Reason: err.Error()}
	}
	if u.User != nil {
		return nil, "", &ConfigError{Setting: SettingEndpoint, Host: host, Reason: "must not carry userinfo"}
	}
	if err := checkPort(u.Port()); err != nil {
		return nil, "", &ConfigError{Setting: SettingEndpoint, Host: host, Reason: err.Error()}
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = joinHostPort(host, u.Port())
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(host):
	default:
		return nil, "", &ConfigError{Setting: SettingEndpoint, Host: host, Reason: "must use https (plain http only on loopback)"}
	}
	u.Fragment, u.RawFragment = "", ""
	return u, host, nil
}

func baseSecrets(cfg Config) []string {
	var s []string
	for _, v := range []string{cfg.APIKey, cfg.APISecret} {
		if len(v) >= 4 {
			s = append(s, v)
		}
	}
	return s
}

// WithEndpoint returns a client bound to a payload's api_url, after the
// allow-list check: its host must equal the configured endpoint's host or
// match an allowed pattern (ports do not matter), over https, except for
// loopback hosts allowed explicitly. A refusal is a *HostNotAllowedError
// naming the host (Allowable when Config.AllowHosts could admit it; BadURL
// when the URL itself is unusable, a port out of range included); nothing
// is sent then. The new
// client shares the connection pool and the retry budget.
func (c *Client) WithEndpoint(apiURL string) (*Client, error) {
	u, host, err := c.allow.check(apiURL)
	if err != nil {
		return nil, err
	}
	return c.bind(u, host), nil
}

// WithWorkspace returns a copy of c that names workspace uid in the
// X-Paradime-Workspace header, when c authenticates with a company token
// (prdm_cmp_): a company token answers for every workspace of the company,
// so a receiver following up many workspaces' runs binds each follow-up to
// its payload's workspace. The configured WorkspaceUID stays the default:
// with uid "", or with other credentials (an API key and secret, a
// workspace token), which name no workspace, c itself is returned. A uid
// holding control characters is refused with a *WorkspaceError, and nothing
// is sent. The copy shares c's endpoint, connection pool and retry budget.
func (c *Client) WithWorkspace(uid string) (*Client, error) {
	if uid == "" || !strings.HasPrefix(c.cfg.APISecret, companyTokenPrefix) || uid == c.cfg.WorkspaceUID {
		return c, nil
	}
	if strings.ContainsFunc(uid, isControl) {
		return nil, &WorkspaceError{Reason: "contains control characters"}
	}
	n := *c
	n.cfg.WorkspaceUID = uid
	if c.headers != nil { // bound: the headers are built; else bind builds them from cfg
		n.headers = c.headers.Clone()
		n.headers.Set("X-Paradime-Workspace", uid)
	}
	return &n, nil
}

// Host is the normalised host of the bound endpoint, "" when none.
func (c *Client) Host() string { return c.host }

func (c *Client) bind(u *url.URL, host string) *Client {
	n := &Client{cfg: c.cfg, log: c.log, allow: c.allow, base: c.base, budget: c.budget, endpoint: u, host: host}
	n.secrets = baseSecrets(c.cfg)
	if u.Path != "" && u.Path != "/" {
		n.secrets = append(n.secrets, u.EscapedPath(), u.Path)
		for _, seg := range strings.Split(u.Path, "/") {
			if len(seg) >= 8 && seg != "graphql" {
				n.secrets = append(n.secrets, seg)
			}
		}
	}
	if u.RawQuery != "" {
		n.secrets = append(n.secrets, u.RawQuery)
	}
	n.policy = retry.Policy{Min: c.cfg.RetryWaitMin, Max: c.cfg.RetryWaitMax, MaxRetryAfter: c.cfg.MaxRetryAfter}
	n.headers = c.cfg.authHeaders()
	n.headers.Set("User-Agent", c.cfg.UserAgent)
	n.headers.Set("Accept", "application/json")
	n.headers.Set("Content-Type", "application/json")
	n.http = &http.Client{
		Transport: c.base,
		// Never follow: a redirect could carry X-API-SECRET elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return n
}

// redact removes every known secret from text that came from outside.
func (c *Client) redact(s string) string {
	for _, sec := range c.secrets {
		s = strings.ReplaceAll(s, sec, "[REDACTED]")
	}
	return s
}

// errString is err's text fit for a log line: without the URL that
// url.Error quotes, and redacted.
func (c *Client) errString(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		err = ue.Err
	}
	return c.redact(err.Error())
}

// redactedError keeps the cause for errors.Is/As while its text is redacted.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func (c *Client) statusError(resp *http.Response, body []byte, attempts int) error {
	switch code := resp.StatusCode; {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return &AuthError{Host: c.host, StatusCode: code, Capability: Capability}
	case code == http.StatusTooManyRequests:
		ra, _ := retry.After(code, resp.Header, time.Now())
		return &RateLimitError{Host: c.host, RetryAfter: ra, Attempts: attempts}
	case code == http.StatusBadRequest || code == http.StatusUnprocessableEntity:
		var r struct {
			Errors []struct {
				Message string `json:"message"`
			} `json:"errors"`
		}
		if json.Unmarshal(body, &r) == nil && len(r.Errors) > 0 {
			msgs := make([]string, len(r.Errors))
			for i, e := range r.Errors {
				msgs[i] = e.Message
			}
			return c.graphQLError(code, msgs)
		}
	}
	return &StatusError{Host: c.host, StatusCode: resp.StatusCode, Attempts: attempts, Body: excerpt(c.redact(string(body)), 300)}
}

var (
	notFoundRe = regexp.MustCompile(`(?i)does not exist|not found`)
	authRe     = regexp.MustCompile(`(?i)permission denied|not authori[sz]ed|unauthori[sz]ed|forbidden|invalid api key|authentication`)
)

// graphQLError classifies a GraphQL errors array: "does not exist" is a
// *NotFoundError, a refusal of the credentials an *AuthError, anything else
// a *GraphQLError. Messages are redacted and bounded.
func (c *Client) graphQLError(status int, msgs []string) error {
	const maxMsgs = 20
	out := make([]string, 0, min(len(msgs), maxMsgs+1))
	for i, m := range msgs {
		if i == maxMsgs {
			out = append(out, fmt.Sprintf("and %d more", len(msgs)-maxMsgs))
			break
		}
		out = append(out, excerpt(c.redact(m), 500))
	}
	for _, m := range out {
		if notFoundRe.MatchString(m) {
			return &NotFoundError{Message: m}
		}
	}
	for _, m := range out {
		if authRe.MatchString(m) {
			return &AuthError{Host: c.host, StatusCode: status, Capability: Capability}
		}
	}
	return &GraphQLError{StatusCode: status, Messages: out}
}

// excerpt is the start of s (at most n bytes) on one line, every control
// (C0, C1, bidi) shown escaped: it quotes a server's answer in an error.
func excerpt(s string, n int) string {
	s = safetext.Line(strings.TrimSpace(s))
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// graphQLRequest is the body of a GraphQL POST.
type graphQLRequest struct {
	Query     string         `json:"query"`
	Variables map[string]any `json:"variables,omitempty"`
}

// exec sends one document, already checked or built here, bounding the whole
// call with cfg.Timeout, and decodes the answer once, as it streams in (see
// decodeResponse). GraphQL errors in the answer win over its data.
func (c *Client) exec(ctx context.Context, op, document string, vars map[string]any, dst *responseTarget) error {
	if c.endpoint == nil {
		return ErrNoEndpoint
	}
	body, err := json.Marshal(graphQLRequest{Query: document, Variables: vars})
	if err != nil {
		return &DecodeError{Host: c.host, Err: fmt.Errorf("encode the request: %w", err)}
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	st := &callState{op: op}
	var res gqlResponse
	err = c.call(ctx, st, body, func(r io.Reader) error {
		res = gqlResponse{}
		if err := decodeResponse(r, dst, &res); err != nil {
			return &DecodeError{Host: c.host, Err: &redactedError{msg: c.redact(err.Error()), err: err}}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(res.errors) > 0 {
		return c.graphQLError(http.StatusOK, res.errors)
	}
	if res.valueErr != nil {
		return &DecodeError{Host: c.host, Err: &redactedError{msg: c.redact(res.valueErr.Error()), err: res.valueErr}}
	}
	return nil
}
