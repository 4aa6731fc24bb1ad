package fakebolt

import (
	"maps"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
)

// maxRecordedHeaders bounds the header log so a long benchmark cannot grow it
// without limit; Stats.HeadersDropped counts what was left out.
const maxRecordedHeaders = 1 << 16

// Stats is a snapshot of what the server saw since it started or since the
// last ResetStats.
type Stats struct {
	// Requests counts requests per route: "graphql" (every API call),
	// "graphql:<rootField>" (once per root field of the document),
	// "download", and "other" (unknown paths).
	Requests map[string]int
	// PeakConcurrency is the highest number of requests in flight at once,
	// per route.
	PeakConcurrency map[string]int
	// PeakOverall is the highest number of HTTP requests in flight at once,
	// all routes together.
	PeakOverall int
	// Headers holds every request's headers per route, in arrival order.
	Headers map[string][]http.Header
	// HeadersDropped counts requests whose headers were not kept (the log
	// is capped).
	HeadersDropped int
	// Operations counts GraphQL root fields seen, queries and mutations
	// alike, whether or not they were authorized.
	Operations map[string]int
	// FaultsInjected counts injected faults per route.
	FaultsInjected map[string]int
	// MutationsSeen counts GraphQL documents received whose operation is a
	// mutation (authorized or not).
	MutationsSeen int
	// MutationsExecuted counts mutation resolvers that actually ran. Guard
	// tests assert it stays 0.
	MutationsExecuted int
}

// HeaderSeen reports whether any request on route carried header name
// (case-insensitive), e.g. HeaderSeen("download", "Authorization").
func (st Stats) HeaderSeen(route, name string) bool {
	for _, h := range st.Headers[route] {
		if _, ok := h[http.CanonicalHeaderKey(name)]; ok {
			return true
		}
	}
	return false
}

// gauge tracks in-flight requests and their peak.
type gauge struct {
	inflight atomic.Int64
	peak     atomic.Int64
}

func (g *gauge) inc() {
	n := g.inflight.Add(1)
	for {
		p := g.peak.Load()
		if n <= p || g.peak.CompareAndSwap(p, n) {
			return
		}
	}
}

func (g *gauge) dec() { g.inflight.Add(-1) }

type recorder struct {
	mu             sync.Mutex
	requests       map[string]int
	headers        map[string][]http.Header
	headerCount    int
	headersDropped int
	operations     map[string]int
	faults         map[string]int
	mutationsSeen  int
	gauges         map[string]*gauge // never reset: in-flight counts must survive ResetStats

	overall           gauge
	mutationsExecuted atomic.Int64
}

func (rc *recorder) init() {
	rc.gauges = make(map[string]*gauge)
	rc.reset()
}

// reset clears counts; caller holds no lock.
func (rc *recorder) reset() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.requests = make(map[string]int)
	rc.headers = make(map[string][]http.Header)
	rc.headerCount, rc.headersDropped = 0, 0
	rc.operations = make(map[string]int)
	rc.faults = make(map[string]int)
	rc.mutationsSeen = 0
	for _, g := range rc.gauges {
		g.peak.Store(g.inflight.Load())
	}
	rc.overall.peak.Store(rc.overall.inflight.Load())
	rc.mutationsExecuted.Store(0)
}

// begin records one request on route and counts it in flight until the
// returned function is called. overall says whether it is a new HTTP
// request (and not a root field of one already counted).
func (rc *recorder) begin(route string, h http.Header, overall bool) func() {
	rc.mu.Lock()
	rc.requests[route]++
	if rc.headerCount < maxRecordedHeaders {
		rc.headers[route] = append(rc.headers[route], h.Clone())
		rc.headerCount++
	} else {
		rc.headersDropped++
	}
	g := rc.gauges[route]
	if g == nil {
		g = new(gauge)
		rc.gauges[route] = g
	}
	rc.mu.Unlock()
	g.inc()
	if overall {
		rc.overall.inc()
	}
	return func() {
		g.dec()
		if overall {
			rc.overall.dec()
		}
	}
}

func (rc *recorder) operation(rootFields []string, mutation bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, f := range rootFields {
		rc.operations[f]++
	}
	if mutation {
		rc.mutationsSeen++
	}
}

func (rc *recorder) fault(route string) {
	rc.mu.Lock()
	rc.faults[route]++
	rc.mu.Unlock()
}

func (rc *recorder) snapshot() Stats {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	st := Stats{
		Requests:          maps.Clone(rc.requests),
		PeakConcurrency:   make(map[string]int, len(rc.gauges)),
		PeakOverall:       int(rc.overall.peak.Load()),
		Headers:           make(map[string][]http.Header, len(rc.headers)),
		HeadersDropped:    rc.headersDropped,
		Operations:        maps.Clone(rc.operations),
		FaultsInjected:    maps.Clone(rc.faults),
		MutationsSeen:     rc.mutationsSeen,
		MutationsExecuted: int(rc.mutationsExecuted.Load()),
	}
	for route, g := range rc.gauges {
		if p := g.peak.Load(); p > 0 {
			st.PeakConcurrency[route] = int(p)
		}
	}
	for route, hs := range rc.headers {
		st.Headers[route] = slices.Clone(hs) // the headers themselves are clones, never written again
	}
	return st
}

// Stats returns a snapshot of the recorded requests.
func (s *Server) Stats() Stats { return s.rec.snapshot() }

// ResetStats clears the counts, headers and peaks (the peaks restart from the
// requests in flight now). Faults and their FirstN counters are kept.
func (s *Server) ResetStats() { s.rec.reset() }
