package client

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Capability is the Paradime API key capability every call here needs.
const Capability = `"Bolt schedules metadata viewer" (or admin)`

// ErrNoEndpoint is returned by calls on a client that has neither a configured
// endpoint nor one bound with WithEndpoint.
var ErrNoEndpoint = errors.New("no GraphQL endpoint: none configured and no payload api_url bound")

// Setting names a Config setting in errors, in words rather than Go field
// names, so that each caller can word it for its users: a flag, an
// environment variable, a config file key.
type Setting string

// The settings a *ConfigError can name.
const (
	SettingEndpoint     Setting = "endpoint"
	SettingAPIKey       Setting = "API key"
	SettingAPISecret    Setting = "API secret"
	SettingWorkspaceUID Setting = "workspace uid"
	SettingAllowHosts   Setting = "allowed host"
)

// ConfigError reports an unusable Config: a missing credential, an endpoint
// that is not an absolute https URL, an allowed-host entry that is not a
// host. Nothing was sent.
type ConfigError struct {
	Setting Setting
	// Value is the offending entry for SettingAllowHosts; it is never a
	// credential or the endpoint (whose path holds a token).
	Value string
	// Missing is set when the setting was not given at all.
	Missing bool
	// Host is the endpoint's host, when it could be read.
	Host   string
	Reason string
}

func (e *ConfigError) Error() string {
	switch {
	case e.Value != "":
		return fmt.Sprintf("%s %q: %s", e.Setting, e.Value, e.Reason)
	case e.Host != "":
		return fmt.Sprintf("%s (host %s): %s", e.Setting, e.Host, e.Reason)
	}
	return fmt.Sprintf("%s: %s", e.Setting, e.Reason)
}

// AuthError reports that Paradime refused the credentials (HTTP 401/403, or a
// GraphQL error saying permission was denied).
type AuthError struct {
	Host       string
	StatusCode int    // 401 or 403; 200 when the refusal came as a GraphQL error
	Capability string // what the key needs
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("paradime %s refused the API credentials (HTTP %d): check the API key and secret; the key needs the %s capability",
		e.Host, e.StatusCode, e.Capability)
}

// RateLimitError reports HTTP 429 after the retries allowed were spent.
// RetryAfter is the server's own Retry-After (uncapped; 0 when absent).
type RateLimitError struct {
	Host       string
	RetryAfter time.Duration
	Attempts   int
}

func (e *RateLimitError) Error() string {
	s := fmt.Sprintf("paradime %s is rate limiting (HTTP 429) after %d attempt(s)", e.Host, e.Attempts)
	if e.RetryAfter > 0 {
		s += fmt.Sprintf("; it asks to retry after %s", e.RetryAfter)
	}
	return s + "; retry later or lower the concurrency"
}

// NotFoundError reports that the object asked for does not exist: a GraphQL
// "does not exist" error, null data, or boltResourceUrl answering ok=false or
// a null url.
type NotFoundError struct {
	Field   string // root field asked, such as "boltCommand"
	ID      int64  // 0 when unknown
	Message string // the server's words, or what was null
}

func (e *NotFoundError) Error() string {
	what := e.Field
	if e.ID != 0 {
		what = fmt.Sprintf("%s %d", e.Field, e.ID)
	}
	if what == "" {
		what = "object"
	}
	return fmt.Sprintf("%s not found: %s", what, e.Message)
}

// GraphQLError carries the errors array of a GraphQL response, every message
// kept. StatusCode is the HTTP status it came with (200, or 400/422).
type GraphQLError struct {
	StatusCode int
	Messages   []string
}

func (e *GraphQLError) Error() string {
	return "graphql error: " + strings.Join(e.Messages, "; ")
}

// TransportError reports a call that never got a usable HTTP answer:
// connection refused or reset, DNS, TLS, timeouts, cancellation, after the
// retries allowed. LastStatus is the status of the last answer seen, if any.
type TransportError struct {
	Host       string
	Attempts   int
	LastStatus int
	Err        error
}

func (e *TransportError) Error() string {
	s := fmt.Sprintf("paradime %s: request failed after %d attempt(s)", e.Host, e.Attempts)
	if e.LastStatus != 0 {
		s += fmt.Sprintf(" (last status %d)", e.LastStatus)
	}
	return s + ": " + e.Err.Error()
}

func (e *TransportError) Unwrap() error { return e.Err }

// StatusError reports a non-2xx answer not covered by a more specific error
// (a 500, a 404 from a wrong endpoint, a redirect, retried 502/503/504 that
// never recovered). Body is a short, redacted excerpt of the answer.
type StatusError struct {
	Host       string
	StatusCode int
	Attempts   int
	Body       string
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("paradime %s answered HTTP %d after %d attempt(s)", e.Host, e.StatusCode, e.Attempts)
	switch {
	case e.StatusCode == 404:
		s += " (check the endpoint URL and its token)"
	case e.StatusCode >= 300 && e.StatusCode < 400:
		s += " (redirects are not followed, so credentials never leave the allowed host)"
	}
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// BodyTooLargeError reports a response body larger than the configured cap
// (Config.MaxBodyBytes), Limit bytes.
type BodyTooLargeError struct {
	Host  string
	Limit int64
}

func (e *BodyTooLargeError) Error() string {
	return fmt.Sprintf("paradime %s: response body exceeds the %d-byte limit", e.Host, e.Limit)
}

// DecodeError reports a 200 answer that is not a GraphQL JSON response, or
// whose data does not have the expected shape.
type DecodeError struct {
	Host string
	Err  error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("paradime %s: cannot decode the response: %v", e.Host, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// HostNotAllowedError reports an api_url refused by the allow-list, or not
// usable as a URL. Nothing was sent to it.
type HostNotAllowedError struct {
	Host   string // the refused host, normalised (never the URL: its path holds a token)
	Reason string // what was wrong
	// Allowable is set when naming Host among the allowed hosts
	// (Config.AllowHosts) would let it through.
	Allowable bool
	// BadURL is set when the api_url itself is unusable (no host, a bad
	// host or port, userinfo): no allow-list would take it.
	BadURL bool
}

func (e *HostNotAllowedError) Error() string {
	return fmt.Sprintf("refusing api_url host %q: %s; nothing was sent", e.Host, e.Reason)
}

// QueryRefusedError reports a payload GraphQL document refused by the query
// guard. Nothing was sent.
type QueryRefusedError struct {
	Reason string
}

func (e *QueryRefusedError) Error() string {
	return "refusing the payload's GraphQL document: " + e.Reason
}

// typedError marks the errors that the transport and the Doer return
// already typed, so that mapError passes them through hasura's wrapping.
type typedError interface {
	error
	typed()
}

func (*AuthError) typed()           {}
func (*ConfigError) typed()         {}
func (*AttemptTimeoutError) typed() {}
func (*DecodeError) typed()         {}
func (*RateLimitError) typed()      {}
func (*NotFoundError) typed()       {}
func (*GraphQLError) typed()        {}
func (*TransportError) typed()      {}
func (*StatusError) typed()         {}
func (*BodyTooLargeError) typed()   {}
func (*HostNotAllowedError) typed() {}
