package webhook

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/boltfetch/boltfetch/inbox"
)

// Queue is what the intake needs from the durable queue. *inbox.Inbox
// satisfies it.
type Queue interface {
	// Enqueue stores one delivery and returns only after it is committed
	// durably; a run the queue already knows comes back as a duplicate.
	Enqueue(ctx context.Context, runID int64, payload []byte) (inbox.EnqueueResult, error)
	// Status returns one run's status, or an error wrapping inbox.ErrNotFound.
	Status(ctx context.Context, runID int64) (inbox.RunStatus, error)
	// List returns runs in state (all when ""), newest first, at most limit.
	List(ctx context.Context, state inbox.State, limit int) ([]inbox.RunStatus, error)
	// Depth counts the runs in each state.
	Depth(ctx context.Context) (map[inbox.State]int, error)
	// Ping reports whether the queue's database can be reached.
	Ping(ctx context.Context) error
}

// ParseFunc tells a payload's run id and whether it is a bolt.run.started
// payload (nothing to follow up yet). An error means the body is not JSON or
// not a Bolt payload; its message is sent back to the sender as the reason,
// so it must not hold a secret. cmd wires it to fetcher's payload decoder.
type ParseFunc func(body []byte) (runID int64, started bool, err error)

// Defaults and bounds of Config. A zero field takes its default; a field
// outside its bounds makes New fail with a *RangeError.
const (
	DefaultMaxPayloadSize = 16 << 20 // fetch's default payload cap
	MinMaxPayloadSize     = 1 << 10
	MaxMaxPayloadSize     = 1 << 30

	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 60 * time.Second
	DefaultWriteTimeout      = 90 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultEnqueueTimeout    = 20 * time.Second
	DefaultProbeTimeout      = 2 * time.Second
	DefaultShutdownTimeout   = 30 * time.Second
	DefaultDrainDelay        = 0

	DefaultMaxHeaderBytes = 64 << 10
	MinMaxHeaderBytes     = 4 << 10
	MaxMaxHeaderBytes     = 1 << 20

	DefaultListLimit = 50
	DefaultMaxList   = 1000
	MaxMaxList       = 100000

	DefaultUIUser = "boltfetch"

	// MinTokenLength is the shortest token accepted: a token is the only
	// thing between the internet and the queue.
	MinTokenLength = 16
	// MaxTokenLength bounds a token so that it fits a header and a URL.
	MaxTokenLength = 4096
)

// Config configures the intake. Queue and Parse are required, and so is at
// least one token unless InsecureNoAuth is set. Every other field has a
// default used when it is zero.
type Config struct {
	// Queue is the durable queue deliveries go to. Required.
	Queue Queue
	// Parse tells a payload's run id and event. Required.
	Parse ParseFunc

	// Tokens are the shared secrets a sender presents, as
	// "Authorization: Bearer <token>" or "?token=<token>". Any one of them is
	// accepted, so that a token can be rotated without downtime. Each is at
	// least MinTokenLength and at most MaxTokenLength bytes, with no space or
	// control character. Required unless InsecureNoAuth.
	Tokens []string
	// InsecureNoAuth serves every endpoint without authentication. It must
	// be asked for explicitly, and only then may Tokens be empty; it is
	// refused together with Tokens, and together with UI.
	InsecureNoAuth bool

	// MaxPayloadSize caps a delivery's body, in bytes. Default
	// DefaultMaxPayloadSize (16 MiB, as fetch); bounds MinMaxPayloadSize to
	// MaxMaxPayloadSize.
	MaxPayloadSize int64

	// ReadHeaderTimeout bounds reading a request's headers (slowloris).
	// Default 10s; bounds 100ms to 10m.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included (a
	// slow-drip body). Default 60s; bounds 100ms to 1h, and at least
	// ReadHeaderTimeout.
	ReadTimeout time.Duration
	// WriteTimeout bounds a request from the end of its headers to the end
	// of its answer, so it covers the body read and the enqueue. Default 90s;
	// bounds 100ms to 1h, and more than EnqueueTimeout.
	WriteTimeout time.Duration
	// IdleTimeout bounds an idle keep-alive connection. Default 120s; bounds
	// 1s to 1h.
	IdleTimeout time.Duration
	// MaxHeaderBytes caps a request's headers (net/http answers 431 above
	// it). Default 64 KiB; bounds 4 KiB to 1 MiB.
	MaxHeaderBytes int
	// EnqueueTimeout bounds one Enqueue (the queue's commit) after the body
	// is read; past it the sender gets 503. A sender hanging up does not
	// cancel a commit under way. Default 20s; bounds 10ms to 10m.
	EnqueueTimeout time.Duration
	// ProbeTimeout bounds the queue calls of /readyz (Ping), of a metrics
	// scrape (Depth) and of the status endpoints. Default 2s; bounds 10ms to
	// 1m.
	ProbeTimeout time.Duration
	// DrainDelay is how long Serve keeps answering after its context ends,
	// with /readyz failing and deliveries refused, before it stops
	// listening, so that a load balancer sees the probe fail first. Default
	// 0; bounds 0 to 5m.
	DrainDelay time.Duration
	// ShutdownTimeout bounds Serve's wait for requests in flight once it
	// stops listening. Default 30s; bounds 0 (do not wait) to 1h.
	ShutdownTimeout time.Duration

	// DefaultListLimit is the number of runs GET /runs lists without a
	// limit parameter. Default 50; bounds 1 to MaxList.
	DefaultListLimit int
	// MaxList caps GET /runs' limit parameter; a larger limit is cut to it.
	// Default 1000; bounds 1 to 100000.
	MaxList int

	// TLSCertFile and TLSKeyFile, both set, make the server speak TLS
	// (minimum TLS 1.2) with that PEM key pair, loaded by New. Both empty:
	// plain HTTP, the usual setup behind a reverse proxy. One without the
	// other is refused.
	TLSCertFile, TLSKeyFile string

	// UI, when set, is served under /ui/ (River's web UI, built with the
	// prefix "/ui"), behind HTTP Basic auth: user UIUser, password any of
	// Tokens. Refused with InsecureNoAuth.
	UI http.Handler
	// UIUser is the Basic auth user name of the UI. Default "boltfetch".
	UIUser string

	// Metrics receives the intake's counters and serves GET /metrics.
	// Default: NewMetrics on a registry of its own.
	Metrics *Metrics
	// Logger receives the intake's logs. URLs are logged without their
	// query string and tokens never. Default: discard.
	Logger *slog.Logger
}

// Setting names one tunable of Config in a *RangeError, so that callers can
// word the error with their own name for it (a flag, a config key).
type Setting string

// The settings a *RangeError can name.
const (
	SettingMaxPayloadSize    Setting = "maximum payload size"
	SettingReadHeaderTimeout Setting = "header read timeout"
	SettingReadTimeout       Setting = "read timeout"
	SettingWriteTimeout      Setting = "write timeout"
	SettingIdleTimeout       Setting = "idle timeout"
	SettingMaxHeaderBytes    Setting = "maximum header size"
	SettingEnqueueTimeout    Setting = "enqueue timeout"
	SettingProbeTimeout      Setting = "probe timeout"
	SettingDrainDelay        Setting = "drain delay"
	SettingShutdownTimeout   Setting = "shutdown timeout"
	SettingDefaultListLimit  Setting = "default list limit"
	SettingMaxList           Setting = "maximum list limit"
)

// RangeError reports a setting outside its bounds.
type RangeError struct {
	Setting  Setting
	Value    string // the value given, formatted
	Min, Max string // the bounds, formatted
	Reason   string // set when the bound is relative to another setting
}

func (e *RangeError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("webhook: %s %s: %s", e.Setting, e.Value, e.Reason)
	}
	return fmt.Sprintf("webhook: %s %s is out of bounds (%s to %s)", e.Setting, e.Value, e.Min, e.Max)
}

// Errors of New that callers branch on.
var (
	// ErrNoQueue: no queue was given.
	ErrNoQueue = errors.New("webhook: no queue to deliver to")
	// ErrNoParse: no payload parser was given.
	ErrNoParse = errors.New("webhook: no payload parser")
	// ErrNoToken: no token was given and unauthenticated access was not
	// asked for explicitly.
	ErrNoToken = errors.New("webhook: no token configured (anyone could post runs); give a token, or ask explicitly for no authentication")
	// ErrTokenWithNoAuth: tokens were given together with the request for
	// no authentication, which is contradictory.
	ErrTokenWithNoAuth = errors.New("webhook: tokens given, but no authentication asked for")
	// ErrUIWithoutAuth: the UI (which can cancel and delete jobs) was asked
	// for without authentication.
	ErrUIWithoutAuth = errors.New("webhook: the job UI needs authentication, and none is configured")
	// ErrTLSPair: only one of the TLS certificate and key was given.
	ErrTLSPair = errors.New("webhook: TLS needs both a certificate and a key file")
)

// TokenError reports an unusable token. It never holds the token itself.
type TokenError struct {
	Index  int // position in Tokens
	Reason string
}

func (e *TokenError) Error() string {
	return fmt.Sprintf("webhook: token #%d: %s", e.Index+1, e.Reason)
}

func checkToken(tok string) string {
	switch {
	case tok == "":
		return "empty"
	case len(tok) < MinTokenLength:
		return fmt.Sprintf("shorter than %d bytes", MinTokenLength)
	case len(tok) > MaxTokenLength:
		return fmt.Sprintf("longer than %d bytes", MaxTokenLength)
	}
	for _, r := range tok {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == unicode.ReplacementChar {
			return "holds a space, a control character or invalid UTF-8 (it could not be sent in a header)"
		}
	}
	return ""
}

// withDefaults returns c with every zero field at its default, or the first
// error found.
func (c Config) withDefaults() (Config, error) {
	if c.Queue == nil {
		return c, ErrNoQueue
	}
	if c.Parse == nil {
		return c, ErrNoParse
	}
	switch {
	case len(c.Tokens) == 0 && !c.InsecureNoAuth:
		return c, ErrNoToken
	case len(c.Tokens) > 0 && c.InsecureNoAuth:
		return c, ErrTokenWithNoAuth
	case c.UI != nil && c.InsecureNoAuth:
		return c, ErrUIWithoutAuth
	}
	for i, tok := range c.Tokens {
		if reason := checkToken(tok); reason != "" {
			return c, &TokenError{Index: i, Reason: reason}
		}
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return c, ErrTLSPair
	}

	def64 := func(v *int64, d int64) {
		if *v == 0 {
			*v = d
		}
	}
	defInt := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def64(&c.MaxPayloadSize, DefaultMaxPayloadSize)
	defDur(&c.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	defDur(&c.ReadTimeout, DefaultReadTimeout)
	defDur(&c.WriteTimeout, DefaultWriteTimeout)
	defDur(&c.IdleTimeout, DefaultIdleTimeout)
	defInt(&c.MaxHeaderBytes, DefaultMaxHeaderBytes)
	defDur(&c.EnqueueTimeout, DefaultEnqueueTimeout)
	defDur(&c.ProbeTimeout, DefaultProbeTimeout)
	defDur(&c.ShutdownTimeout, DefaultShutdownTimeout)
	defInt(&c.MaxList, DefaultMaxList)
	defInt(&c.DefaultListLimit, min(DefaultListLimit, c.MaxList))
	if c.UIUser == "" {
		c.UIUser = DefaultUIUser
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}

	if c.MaxPayloadSize < MinMaxPayloadSize || c.MaxPayloadSize > MaxMaxPayloadSize {
		return c, &RangeError{Setting: SettingMaxPayloadSize, Value: fmt.Sprint(c.MaxPayloadSize),
			Min: fmt.Sprint(MinMaxPayloadSize), Max: fmt.Sprint(MaxMaxPayloadSize)}
	}
	if c.MaxHeaderBytes < MinMaxHeaderBytes || c.MaxHeaderBytes > MaxMaxHeaderBytes {
		return c, &RangeError{Setting: SettingMaxHeaderBytes, Value: fmt.Sprint(c.MaxHeaderBytes),
			Min: fmt.Sprint(MinMaxHeaderBytes), Max: fmt.Sprint(MaxMaxHeaderBytes)}
	}
	durs := []struct {
		s        Setting
		v        time.Duration
		min, max time.Duration
	}{
		{SettingReadHeaderTimeout, c.ReadHeaderTimeout, 100 * time.Millisecond, 10 * time.Minute},
		{SettingReadTimeout, c.ReadTimeout, 100 * time.Millisecond, time.Hour},
		{SettingWriteTimeout, c.WriteTimeout, 100 * time.Millisecond, time.Hour},
		{SettingIdleTimeout, c.IdleTimeout, time.Second, time.Hour},
		{SettingEnqueueTimeout, c.EnqueueTimeout, 10 * time.Millisecond, 10 * time.Minute},
		{SettingProbeTimeout, c.ProbeTimeout, 10 * time.Millisecond, time.Minute},
		{SettingDrainDelay, c.DrainDelay, 0, 5 * time.Minute},
		{SettingShutdownTimeout, c.ShutdownTimeout, 0, time.Hour},
	}
	for _, d := range durs {
		if d.v < d.min || d.v > d.max {
			return c, &RangeError{Setting: d.s, Value: d.v.String(), Min: d.min.String(), Max: d.max.String()}
		}
	}
	if c.ReadTimeout < c.ReadHeaderTimeout {
		return c, &RangeError{Setting: SettingReadTimeout, Value: c.ReadTimeout.String(),
			Reason: "shorter than the " + string(SettingReadHeaderTimeout) + " " + c.ReadHeaderTimeout.String()}
	}
	if c.WriteTimeout <= c.EnqueueTimeout {
		return c, &RangeError{Setting: SettingWriteTimeout, Value: c.WriteTimeout.String(),
			Reason: "not longer than the " + string(SettingEnqueueTimeout) + " " + c.EnqueueTimeout.String() + " (the answer could never be written)"}
	}
	if c.MaxList < 1 || c.MaxList > MaxMaxList {
		return c, &RangeError{Setting: SettingMaxList, Value: fmt.Sprint(c.MaxList), Min: "1", Max: fmt.Sprint(MaxMaxList)}
	}
	if c.DefaultListLimit < 1 || c.DefaultListLimit > c.MaxList {
		return c, &RangeError{Setting: SettingDefaultListLimit, Value: fmt.Sprint(c.DefaultListLimit), Min: "1", Max: fmt.Sprint(c.MaxList)}
	}
	return c, nil
}

// loadTLS loads the configured key pair, or returns nil without TLS.
func (c Config) loadTLS() (*tls.Config, error) {
	if c.TLSCertFile == "" {
		return nil, nil
	}
	pair, err := tls.LoadX509KeyPair(c.TLSCertFile, c.TLSKeyFile)
	if err != nil {
		return nil, fmt.Errorf("webhook: load TLS key pair (%s, %s): %w", c.TLSCertFile, c.TLSKeyFile, err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}}, nil
}

// trimmedLine returns s on one line, at most n bytes, for answers and logs.
func trimmedLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		for n > 0 && !utf8.RuneStart(s[n]) {
			n-- // do not cut a character in two
		}
		s = s[:n] + "…"
	}
	return s
}
