package fakebolt

import (
	"net"
	"net/http"
	"time"
)

// Fault is a misbehaviour injected on a route. A Fault triggers on the first
// FirstN requests of its route when FirstN > 0, else with probability Rate
// (seeded by Options.Seed) when Rate > 0, else on every request. When it
// triggers, Latency is waited first; then Reset wins over Status, which wins
// over the body faults (Truncate, SlowBytesPerSec).
type Fault struct {
	Rate            float64       // probability per request (seeded RNG)
	FirstN          int           // fault the first N requests of the route
	Status          int           // respond with this status (e.g. 429, 502, 503, 504, 500, 401)
	RetryAfter      string        // Retry-After header sent with Status
	Latency         time.Duration // extra delay before anything is sent
	Reset           bool          // abruptly close the connection (TCP RST)
	Truncate        bool          // send the full Content-Length but close after half the body
	SlowBytesPerSec int64         // send the body at this rate
	// Mix, when set, makes each triggered request take one of these
	// faults instead, picked with the seeded RNG: a mix of statuses and
	// resets on one route. The triggering (FirstN, Rate) is this Fault's.
	Mix []Fault
}

func (f Fault) isZero() bool {
	return f.Rate == 0 && f.FirstN == 0 && f.Status == 0 && f.RetryAfter == "" && f.Latency == 0 &&
		!f.Reset && !f.Truncate && f.SlowBytesPerSec == 0 && len(f.Mix) == 0
}

// Routes a fault can be set on.
const (
	RouteGraphQL  = "graphql"  // every API call
	RouteDownload = "download" // every artifact download
)

// RouteField returns the route of one GraphQL root field, e.g.
// RouteField("boltResourceUrl") == "graphql:boltResourceUrl".
func RouteField(rootField string) string { return RouteGraphQL + ":" + rootField }

type faultState struct {
	f    Fault
	seen int
}

// SetFault sets (or, with the zero Fault, clears) the fault of a route:
// "graphql", "graphql:<rootField>" or "download". Its FirstN counter starts
// afresh.
func (s *Server) SetFault(route string, f Fault) {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	if f.isZero() {
		delete(s.faults, route)
		return
	}
	s.faults[route] = &faultState{f: f}
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	clear(s.faults)
}

// applied is the merge of the faults that triggered on one request.
type applied struct {
	latency    time.Duration
	reset      bool
	status     int
	retryAfter string
	truncate   bool
	slow       int64
}

// pickFaults decides which faults trigger for a request on routes (general
// route first) and merges them.
func (s *Server) pickFaults(routes ...string) applied {
	var a applied
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	for _, route := range routes {
		st := s.faults[route]
		if st == nil {
			continue
		}
		st.seen++
		var hit bool
		switch {
		case st.f.FirstN > 0:
			hit = st.seen <= st.f.FirstN
		case st.f.Rate > 0:
			hit = s.rng.Float64() < st.f.Rate
		default:
			hit = true
		}
		if !hit {
			continue
		}
		s.rec.fault(route)
		f := st.f
		if len(f.Mix) > 0 {
			f = f.Mix[s.rng.IntN(len(f.Mix))]
		}
		a.latency += f.Latency
		a.reset = a.reset || f.Reset
		if a.status == 0 && f.Status != 0 {
			a.status, a.retryAfter = f.Status, f.RetryAfter
		}
		a.truncate = a.truncate || f.Truncate
		if f.SlowBytesPerSec > 0 && (a.slow == 0 || f.SlowBytesPerSec < a.slow) {
			a.slow = f.SlowBytesPerSec
		}
	}
	return a
}

// preBody applies the faults that act before a response body: latency, reset
// and status. It reports whether the request has been fully handled.
func (s *Server) preBody(w http.ResponseWriter, r *http.Request, a applied, writeStatus func(http.ResponseWriter, int)) bool {
	if !s.wait(w, r, a.latency) {
		return true
	}
	if a.reset {
		abort(w, true)
		return true
	}
	if a.status != 0 {
		if a.retryAfter != "" {
			w.Header().Set("Retry-After", a.retryAfter)
		}
		writeStatus(w, a.status)
		return true
	}
	return false
}

// abort closes the client connection without finishing the response; with
// reset, it is closed with SO_LINGER 0 so the peer sees a TCP RST.
func abort(w http.ResponseWriter, reset bool) {
	rc := http.NewResponseController(w)
	if !reset {
		// Push out what was written so far (a truncated body). A reset
		// must not flush: that would send a 200 header first.
		_ = rc.Flush()
	}
	conn, _, err := rc.Hijack()
	if err != nil {
		// HTTP/2 and some wrappers cannot hijack: net/http's own way to
		// abort a response is this sentinel panic, recovered by the server.
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok && reset {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}
