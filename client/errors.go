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
var ErrNoEndpoint = errors.New("no GraphQL endpoint: set PARADIME_API_ENDPOINT or bind a payload's api_url with WithEndpoint")

// AuthError reports that Paradime refused the credentials (HTTP 401/403, or a
// GraphQL error saying permission was denied).
type AuthError struct {
	Host       string
	StatusCode int    // 401 or 403; 200 when the refusal came as a GraphQL error
	Capability string // what the key needs
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("paradime %s refused the API credentials (HTTP %d): check PARADIME_API_KEY/PARADIME_API_SECRET; the key needs the %s capability",
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

// BodyTooLargeError reports a response body larger than Config.MaxBodyBytes.
type BodyTooLargeError struct {
	Host  string
	Limit int64
}

func (e *BodyTooLargeError) Error() string {
	return fmt.Sprintf("paradime %s: response body exceeds the %d-byte limit; raise the limit (client.Config.MaxBodyBytes) if the logs are really that large", e.Host, e.Limit)
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

// HostNotAllowedError reports an api_url refused by the allow-list. Nothing
// was sent to it.
type HostNotAllowedError struct {
	Host   string // the refused host, normalised (never the URL: its path holds a token)
	Flag   string // the flag that would allow it, "--allow-host"
	Reason string // what was wrong and what would allow it
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
func (*RateLimitError) typed()      {}
func (*NotFoundError) typed()       {}
func (*GraphQLError) typed()        {}
func (*TransportError) typed()      {}
func (*StatusError) typed()         {}
func (*BodyTooLargeError) typed()   {}
func (*HostNotAllowedError) typed() {}
