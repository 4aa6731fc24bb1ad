package webhook

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/boltfetch/boltfetch/inbox"
)

// Delivery outcomes, the "outcome" label of boltfetch_webhook_deliveries_total.
const (
	OutcomeAccepted  = "accepted"
	OutcomeDuplicate = "duplicate"
	OutcomeIgnored   = "ignored"
	OutcomeRejected  = "rejected"
)

// Rejection reasons, the "reason" label of a rejected delivery.
const (
	ReasonUnauthorized = "unauthorized"
	ReasonMethod       = "method"
	ReasonTooLarge     = "too_large"
	ReasonMediaType    = "media_type"
	ReasonBadPayload   = "bad_payload" // not JSON, or not a Bolt payload
	ReasonRead         = "read"        // the body could not be read (timeout, hang-up)
	ReasonUnavailable  = "unavailable" // the queue failed
	ReasonDraining     = "draining"
)

var rejectReasons = []string{ReasonUnauthorized, ReasonMethod, ReasonTooLarge, ReasonMediaType,
	ReasonBadPayload, ReasonRead, ReasonUnavailable, ReasonDraining}

// Follow-up results, the "result" label of boltfetch_followup_duration_seconds.
const (
	ResultDone   = "done"   // complete
	ResultRetry  = "retry"  // incomplete, will be retried
	ResultFailed = "failed" // incomplete or unusable, not retried
)

// Metrics holds boltfetch serve's Prometheus metrics, on one registry that
// GET /metrics serves. Create it with NewMetrics before the inbox's workers,
// so that the follow-up wiring can call ObserveFollowUp and AddItemErrors, and
// pass it to New in Config.Metrics.
type Metrics struct {
	reg        *prometheus.Registry
	deliveries *prometheus.CounterVec
	ack        prometheus.Histogram
	followUp   *prometheus.HistogramVec
	itemErrors *prometheus.CounterVec

	mu       sync.Mutex
	depthSet bool
}

// NewMetrics registers the metrics on reg (a new registry when nil):
//
//   - boltfetch_webhook_deliveries_total{outcome,reason}: deliveries by
//     outcome (accepted, duplicate, ignored, rejected), and rejected ones by
//     reason;
//   - boltfetch_webhook_ack_seconds: from a delivery's arrival to its answer,
//     for deliveries that reached the queue (accepted and duplicate);
//   - boltfetch_followup_duration_seconds{result}: follow-ups' durations;
//   - boltfetch_followup_item_errors_total{stage}: follow-ups' item errors;
//   - boltfetch_inbox_runs{state} and boltfetch_inbox_up: the queue's depth
//     by state, asked of the queue at scrape time (registered by New).
//
// It fails when reg already holds metrics of these names.
func NewMetrics(reg *prometheus.Registry) (*Metrics, error) {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &Metrics{
		reg: reg,
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "boltfetch_webhook_deliveries_total",
			Help: "Webhook deliveries by outcome (accepted, duplicate, ignored, rejected) and, when rejected, reason.",
		}, []string{"outcome", "reason"}),
		ack: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "boltfetch_webhook_ack_seconds",
			Help:    "Time from a delivery's arrival to its answer, for deliveries that reached the queue (the answer waits for the durable commit).",
			Buckets: []float64{.001, .002, .005, .01, .02, .05, .1, .2, .5, 1, 2, 5, 10},
		}),
		followUp: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "boltfetch_followup_duration_seconds",
			Help:    "Duration of follow-ups of runs, by result (done, retry, failed).",
			Buckets: []float64{.1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800},
		}, []string{"result"}),
		itemErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "boltfetch_followup_item_errors_total",
			Help: "Item errors of follow-ups, by stage (api_query, resource_query, download, archive, analysis, ...).",
		}, []string{"stage"}),
	}
	for _, c := range []prometheus.Collector{m.deliveries, m.ack, m.followUp, m.itemErrors} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	// Series that exist from the start, so that rates and alerts see zeros.
	for _, o := range []string{OutcomeAccepted, OutcomeDuplicate, OutcomeIgnored} {
		m.deliveries.WithLabelValues(o, "")
	}
	for _, r := range rejectReasons {
		m.deliveries.WithLabelValues(OutcomeRejected, r)
	}
	for _, r := range []string{ResultDone, ResultRetry, ResultFailed} {
		m.followUp.WithLabelValues(r)
	}
	return m, nil
}

// Registry returns the registry the metrics live on, for adding the Go and
// process collectors or the caller's own.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveFollowUp records one finished follow-up and its result (ResultDone,
// ResultRetry or ResultFailed). The inbox worker wiring calls it.
func (m *Metrics) ObserveFollowUp(d time.Duration, result string) {
	m.followUp.WithLabelValues(result).Observe(d.Seconds())
}

// AddItemErrors counts n item errors of a follow-up at one stage (fetcher's
// stage words: payload, api_query, resource_query, download, archive,
// analysis). stage must come from that fixed vocabulary, never from outside
// input, since each value is a series.
func (m *Metrics) AddItemErrors(stage string, n int) {
	if n > 0 {
		m.itemErrors.WithLabelValues(stage).Add(float64(n))
	}
}

func (m *Metrics) delivery(outcome, reason string) {
	m.deliveries.WithLabelValues(outcome, reason).Inc()
}

// handler serves the registry.
func (m *Metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		// A failing collector (the queue's depth) must not hide the rest.
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
	})
}

// registerDepth adds the queue-depth collector; once per Metrics.
func (m *Metrics) registerDepth(q Queue, timeout time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.depthSet {
		return errors.New("webhook: these metrics already serve another handler")
	}
	if err := m.reg.Register(newDepthCollector(q, timeout)); err != nil {
		return err
	}
	m.depthSet = true
	return nil
}

var depthStates = []inbox.State{inbox.StateQueued, inbox.StateProcessing, inbox.StateDone, inbox.StateFailed}

// depthCollector asks the queue for its depth at scrape time through a
// [probeCache], so that scrapes in a burst cost the database one query.
type depthCollector struct {
	depth *probeCache[map[inbox.State]int]
	runs  *prometheus.Desc
	up    *prometheus.Desc
}

func newDepthCollector(q Queue, timeout time.Duration) *depthCollector {
	return &depthCollector{
		depth: newProbeCache(timeout, q.Depth),
		runs:  prometheus.NewDesc("boltfetch_inbox_runs", "Runs in the inbox by state, asked of the queue at scrape time.", []string{"state"}, nil),
		up:    prometheus.NewDesc("boltfetch_inbox_up", "1 when the last depth query of the inbox succeeded within its timeout, else 0.", nil, nil),
	}
}

func (c *depthCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.runs
	ch <- c.up
}

func (c *depthCollector) Collect(ch chan<- prometheus.Metric) {
	depth, err := c.depth.get()
	if err != nil {
		send(ch, c.up, 0)
		return
	}
	send(ch, c.up, 1)
	for _, s := range depthStates {
		send(ch, c.runs, float64(depth[s]), string(s))
	}
}

// probeMaxAge is how long a probe's answer is reused.
const probeMaxAge = time.Second

// probeCache runs an unauthenticated probe's query (/readyz's ping, a
// scrape's depth) at most once per probeMaxAge and never two at a time:
// the inbox's database may have a single connection, which a flood of probes
// must not take from the intake's commits. A caller arriving while a query
// runs reuses the last answer; only the very first callers wait for it.
type probeCache[T any] struct {
	timeout time.Duration
	query   func(context.Context) (T, error)

	mu      sync.Mutex
	running chan struct{} // closed when the query under way ends; nil when none runs
	at      time.Time     // when the last answer came; zero before the first
	val     T
	err     error
}

func newProbeCache[T any](timeout time.Duration, query func(context.Context) (T, error)) *probeCache[T] {
	return &probeCache[T]{timeout: timeout, query: query}
}

// get returns the last answer, asking the queue again when it is older than
// probeMaxAge and no query runs.
func (c *probeCache[T]) get() (T, error) {
	c.mu.Lock()
	switch {
	case c.running == nil && (c.at.IsZero() || time.Since(c.at) > probeMaxAge):
		done := make(chan struct{})
		c.running = done
		c.mu.Unlock()
		// Not the caller's context: the answer is shared.
		ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
		val, err := c.query(ctx)
		cancel()
		c.mu.Lock()
		c.at, c.val, c.err, c.running = time.Now(), val, err, nil
		close(done)
	case c.running != nil && c.at.IsZero():
		done := c.running
		c.mu.Unlock()
		<-done
		c.mu.Lock()
	}
	defer c.mu.Unlock()
	return c.val, c.err
}

// send emits one gauge; the descriptors are fixed, so it cannot fail, and a
// bad one would be dropped rather than panic.
func send(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	if m, err := prometheus.NewConstMetric(d, prometheus.GaugeValue, v, labels...); err == nil {
		ch <- m
	}
}
