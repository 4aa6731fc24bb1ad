package client

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultRequestTimeout = 60 * time.Second
	DefaultTimeout        = 5 * time.Minute
	DefaultMaxBodyBytes   = 64 << 20
	DefaultMaxRetries     = 6
	DefaultRetryWaitMin   = 500 * time.Millisecond
	DefaultRetryWaitMax   = 15 * time.Second
	DefaultMaxRetryAfter  = 60 * time.Second
	DefaultRetryBudget    = 20
	DefaultMaxLogPages    = 10000
)

// Token prefixes of Paradime secrets sent as a bearer token.
const (
	workspaceTokenPrefix = "prdm_wsp_"
	companyTokenPrefix   = "prdm_cmp_"
)

// Config configures a Client. Zero fields take the Default* values.
type Config struct {
	// Endpoint is the configured GraphQL endpoint,
	// https://api.paradime.io/api/v1/<token>/graphql. It may be empty: then
	// only a payload's api_url bound with WithEndpoint can be used. It must
	// be https, except on a loopback host.
	Endpoint string
	// APIKey and APISecret are the Paradime credentials, sent as X-API-KEY
	// and X-API-SECRET. A secret starting prdm_wsp_ or prdm_cmp_ is a token,
	// sent as "Authorization: Bearer" instead (APIKey may then be empty); a
	// prdm_cmp_ (company) token also sends X-Paradime-Workspace: WorkspaceUID.
	APIKey       string
	APISecret    string
	WorkspaceUID string
	// AllowHosts adds hosts a payload's api_url may point at: exact hosts
	// (a port is ignored) or "*.suffix" patterns. DefaultAllowPattern
	// (*.paradime.io) and the configured endpoint's host are always allowed.
	// Loopback hosts are allowed only when named exactly, and only they may
	// use plain http.
	AllowHosts []string
	// RequestTimeout bounds one attempt, reading the body included.
	RequestTimeout time.Duration
	// Timeout bounds one call, every retry and wait included.
	Timeout time.Duration
	// MaxBodyBytes caps a response body (decompressed). Beyond it a call
	// fails with *BodyTooLargeError.
	MaxBodyBytes int64
	// MaxRetries is the number of retries after the first attempt; -1 for
	// none.
	MaxRetries int
	// RetryWaitMin and RetryWaitMax bound the jittered exponential backoff.
	RetryWaitMin, RetryWaitMax time.Duration
	// MaxRetryAfter caps how long a server's Retry-After is honoured.
	MaxRetryAfter time.Duration
	// RetryBudget is how many retries the client (and the clients derived
	// from it with WithEndpoint) may have in flight as a bucket: each retry
	// takes a token, each call that succeeds at once gives back a tenth. It
	// keeps an outage from multiplying the load by MaxRetries. -1 for none.
	RetryBudget int
	// MaxLogPages bounds how many pages CommandLogs follows.
	MaxLogPages int
	// FallbackTypedQuery: when a payload's document is refused by the query
	// guard, PayloadCommand and PayloadResourceURL send the equivalent typed
	// query built from the expected id instead of failing (a warning is
	// logged with the reason).
	FallbackTypedQuery bool
	// UserAgent defaults to "boltfetch/<version>".
	UserAgent string
	// Logger receives debug lines per attempt and warnings per retry. It
	// never sees a secret, a URL path or a query string. nil discards.
	Logger *slog.Logger
	// HTTPClient is an optional base client; only its Transport is used,
	// wrapped. Redirects are never followed whatever it says.
	HTTPClient *http.Client
}

// ConfigFromEnv reads the official Paradime SDK's environment variables:
// PARADIME_API_ENDPOINT, PARADIME_API_KEY, PARADIME_API_SECRET and
// PARADIME_WORKSPACE_UID. Other fields are left zero (defaults).
func ConfigFromEnv(getenv func(string) string) Config {
	return Config{
		Endpoint:     strings.TrimSpace(getenv("PARADIME_API_ENDPOINT")),
		APIKey:       strings.TrimSpace(getenv("PARADIME_API_KEY")),
		APISecret:    strings.TrimSpace(getenv("PARADIME_API_SECRET")),
		WorkspaceUID: strings.TrimSpace(getenv("PARADIME_WORKSPACE_UID")),
	}
}

// String describes the configuration with the credentials masked and the
// endpoint reduced to scheme and host, so a Config printed or logged by
// mistake leaks nothing.
func (cfg Config) String() string {
	mask := func(s string) string {
		if s == "" {
			return `""`
		}
		return "[REDACTED]"
	}
	ep := `""`
	if u, err := url.Parse(cfg.Endpoint); err == nil && u.Host != "" {
		ep = u.Scheme + "://" + u.Host
	} else if cfg.Endpoint != "" {
		ep = "(invalid)"
	}
	return fmt.Sprintf("client.Config{Endpoint:%s APIKey:%s APISecret:%s WorkspaceUID:%q AllowHosts:%q RequestTimeout:%s Timeout:%s MaxBodyBytes:%d MaxRetries:%d RetryBudget:%d FallbackTypedQuery:%t}",
		ep, mask(cfg.APIKey), mask(cfg.APISecret), cfg.WorkspaceUID, cfg.AllowHosts, cfg.RequestTimeout, cfg.Timeout, cfg.MaxBodyBytes, cfg.MaxRetries, cfg.RetryBudget, cfg.FallbackTypedQuery)
}

// GoString is String, so %#v masks the credentials too.
func (cfg Config) GoString() string { return cfg.String() }

// LogValue masks the credentials in slog output.
func (cfg Config) LogValue() slog.Value { return slog.StringValue(cfg.String()) }

// withDefaults fills zero fields and validates the credentials.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.APISecret == "" {
		return cfg, &ConfigError{Setting: SettingAPISecret, Missing: true, Reason: "missing"}
	}
	bearer := strings.HasPrefix(cfg.APISecret, workspaceTokenPrefix) || strings.HasPrefix(cfg.APISecret, companyTokenPrefix)
	if !bearer && cfg.APIKey == "" {
		return cfg, &ConfigError{Setting: SettingAPIKey, Missing: true, Reason: "missing (not needed with a prdm_wsp_/prdm_cmp_ token as the secret)"}
	}
	if strings.HasPrefix(cfg.APISecret, companyTokenPrefix) && cfg.WorkspaceUID == "" {
		return cfg, &ConfigError{Setting: SettingWorkspaceUID, Missing: true, Reason: "missing: a company token (prdm_cmp_) needs a workspace"}
	}
	for _, f := range []struct {
		s Setting
		v string
	}{{SettingAPIKey, cfg.APIKey}, {SettingAPISecret, cfg.APISecret}, {SettingWorkspaceUID, cfg.WorkspaceUID}} {
		if strings.ContainsFunc(f.v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return cfg, &ConfigError{Setting: f.s, Reason: "contains control characters"}
		}
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	switch {
	case cfg.MaxRetries == 0:
		cfg.MaxRetries = DefaultMaxRetries
	case cfg.MaxRetries < 0:
		cfg.MaxRetries = 0
	}
	if cfg.RetryWaitMin <= 0 {
		cfg.RetryWaitMin = DefaultRetryWaitMin
	}
	if cfg.RetryWaitMax <= 0 {
		cfg.RetryWaitMax = DefaultRetryWaitMax
	}
	if cfg.RetryWaitMax < cfg.RetryWaitMin {
		cfg.RetryWaitMax = cfg.RetryWaitMin
	}
	if cfg.MaxRetryAfter <= 0 {
		cfg.MaxRetryAfter = DefaultMaxRetryAfter
	}
	switch {
	case cfg.RetryBudget == 0:
		cfg.RetryBudget = DefaultRetryBudget
	case cfg.RetryBudget < 0:
		cfg.RetryBudget = 0
	}
	if cfg.MaxLogPages <= 0 {
		cfg.MaxLogPages = DefaultMaxLogPages
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "boltfetch/" + buildVersion()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
}

// buildVersion is the boltfetch module's version from the build info, or
// "dev" for a local build.
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if bi.Main.Path == "github.com/boltfetch/boltfetch" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == "github.com/boltfetch/boltfetch" && d.Version != "" {
			return d.Version
		}
	}
	return "dev"
}

// authHeaders returns the headers that carry the credentials.
func (cfg Config) authHeaders() http.Header {
	h := http.Header{}
	switch {
	case strings.HasPrefix(cfg.APISecret, companyTokenPrefix):
		h.Set("Authorization", "Bearer "+cfg.APISecret)
		h.Set("X-Paradime-Workspace", cfg.WorkspaceUID)
	case strings.HasPrefix(cfg.APISecret, workspaceTokenPrefix):
		h.Set("Authorization", "Bearer "+cfg.APISecret)
	default:
		h.Set("X-API-KEY", cfg.APIKey)
		h.Set("X-API-SECRET", cfg.APISecret)
	}
	return h
}
