package inbox

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Defaults and bounds of Config. A zero field takes its default.
const (
	DefaultWorkers           = 2
	MaxWorkers               = 256
	DefaultMaxAttempts       = 5
	MaxMaxAttempts           = 100
	DefaultJobTimeout        = 30 * time.Minute
	MinJobTimeout            = 100 * time.Millisecond
	MaxJobTimeout            = 7 * 24 * time.Hour
	DefaultRetention         = 30 * 24 * time.Hour
	MinRetention             = time.Minute
	DefaultGroupCommitWindow = 0
	MaxGroupCommitWindow     = time.Second
	DefaultMaxBatch          = 500
	MaxMaxBatch              = 10000
	DefaultFetchPollInterval = time.Second
	MinFetchPollInterval     = time.Millisecond
	MaxFetchPollInterval     = time.Minute
	// CancelGrace is how long Stop waits, after its context ended and the
	// running follow-ups were cancelled, for them to return.
	CancelGrace = 10 * time.Second
)

// Config configures an Inbox. Every field documents its default and bounds;
// Open checks them and refuses nonsense with a *ConfigError.
type Config struct {
	// DataDir is the folder of the embedded SQLite inbox (inbox.db and its
	// lock file), created if missing. Required unless PostgresURL is set;
	// ignored when it is.
	DataDir string

	// PostgresURL, when set, selects the PostgreSQL inbox (a pgx DSN such as
	// postgres://user:pass@host/db). Several processes may share one
	// database. Select a schema with the DSN's search_path parameter.
	PostgresURL string

	// Workers is how many follow-ups run at once in this process.
	// Default DefaultWorkers (2); 1 to MaxWorkers.
	Workers int

	// MaxAttempts is how many times a run is followed up before it is failed
	// for good, counting the first. Default DefaultMaxAttempts (5); 1 to
	// MaxMaxAttempts.
	MaxAttempts int

	// JobTimeout cancels a follow-up that has run this long; it is then
	// retried. Default DefaultJobTimeout (30m); MinJobTimeout to MaxJobTimeout.
	JobTimeout time.Duration

	// RescueAfter is how long a run may stay in processing before it is
	// considered abandoned (its worker died) and is run again, here or on
	// another replica. Default JobTimeout plus a tenth (so that a follow-up
	// cancelled by its timeout can record its outcome first); never lower
	// than JobTimeout.
	RescueAfter time.Duration

	// Retention is how long finished runs (done or failed) are kept, so that
	// re-deliveries stay duplicates and their status can still be read.
	// Default DefaultRetention (30 days); at least MinRetention.
	Retention time.Duration

	// GroupCommitWindow is how long a batch waits, after its first
	// delivery, for other deliveries to share its transaction. Default
	// DefaultGroupCommitWindow (0: natural batching, where a delivery is
	// committed at once when no commit is running and the deliveries that
	// arrived during a commit share the next one); at most
	// MaxGroupCommitWindow. A negative value means 0.
	GroupCommitWindow time.Duration

	// MaxBatch caps how many deliveries one transaction holds.
	// Default DefaultMaxBatch (500); 1 to MaxMaxBatch.
	MaxBatch int

	// FetchPollInterval is how often workers look for runs inserted by
	// another process (SQLite has no notifications; on PostgreSQL it is a
	// fallback). Default DefaultFetchPollInterval (1s);
	// MinFetchPollInterval to MaxFetchPollInterval.
	FetchPollInterval time.Duration

	// Backoff is the wait before retry number attempt (1 for the first
	// retry). Default nil: River's policy (attempt⁴ seconds, with jitter).
	Backoff func(attempt int) time.Duration

	// FollowUp follows up one run. Required by Start; an Inbox opened only
	// for operations (List, Status, Retry) needs none.
	FollowUp FollowUp

	// Periodic are tasks run every so often while the inbox is started, on
	// one process at a time (see Periodic). They need FollowUp (workers).
	Periodic []Periodic

	// Logger receives the inbox's and River's logs. Default: discard.
	Logger *slog.Logger
}

// ConfigError reports the Config fields that are out of bounds.
type ConfigError struct {
	Problems []string
}

// Error lists the problems.
func (e *ConfigError) Error() string {
	return "inbox config: " + strings.Join(e.Problems, "; ")
}

// withDefaults returns c with its zero fields set to their defaults, and
// the problems of what is out of bounds.
func (c Config) withDefaults() (Config, error) {
	var p []string
	if c.PostgresURL == "" && c.DataDir == "" {
		p = append(p, "a data dir or a PostgreSQL URL is required")
	}
	if c.PostgresURL != "" && !strings.HasPrefix(c.PostgresURL, "postgres://") && !strings.HasPrefix(c.PostgresURL, "postgresql://") {
		p = append(p, "the PostgreSQL URL must start with postgres:// or postgresql://")
	}
	intField := func(v *int, def, lo, hi int, what string) {
		if *v == 0 {
			*v = def
		}
		if *v < lo || *v > hi {
			p = append(p, fmt.Sprintf("%s %d: want %d to %d", what, *v, lo, hi))
		}
	}
	durField := func(v *time.Duration, def, lo, hi time.Duration, what string) {
		if *v == 0 {
			*v = def
		}
		if *v < lo || *v > hi {
			p = append(p, fmt.Sprintf("%s %s: want %s to %s", what, *v, lo, hi))
		}
	}
	intField(&c.Workers, DefaultWorkers, 1, MaxWorkers, "workers")
	intField(&c.MaxAttempts, DefaultMaxAttempts, 1, MaxMaxAttempts, "max attempts")
	intField(&c.MaxBatch, DefaultMaxBatch, 1, MaxMaxBatch, "max batch")
	durField(&c.JobTimeout, DefaultJobTimeout, MinJobTimeout, MaxJobTimeout, "job timeout")
	durField(&c.FetchPollInterval, DefaultFetchPollInterval, MinFetchPollInterval, MaxFetchPollInterval, "fetch poll interval")
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.Retention < MinRetention {
		p = append(p, fmt.Sprintf("retention %s: want at least %s", c.Retention, MinRetention))
	}
	if c.RescueAfter == 0 {
		c.RescueAfter = c.JobTimeout + c.JobTimeout/10
	}
	if c.RescueAfter < c.JobTimeout {
		p = append(p, fmt.Sprintf("rescue after %s: want at least the job timeout (%s)", c.RescueAfter, c.JobTimeout))
	}
	switch {
	case c.GroupCommitWindow < 0:
		c.GroupCommitWindow = 0
	case c.GroupCommitWindow > MaxGroupCommitWindow:
		p = append(p, fmt.Sprintf("group commit window %s: want at most %s", c.GroupCommitWindow, MaxGroupCommitWindow))
	}
	p = append(p, checkPeriodic(c.Periodic)...)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if len(p) > 0 {
		return c, &ConfigError{Problems: p}
	}
	return c, nil
}

// errNoFollowUp is returned by Start without a FollowUp.
var errNoFollowUp = errors.New("inbox: started without a follow-up function")
