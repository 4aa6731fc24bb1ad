package fakebolt

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	graphql "github.com/graph-gophers/graphql-go"
)

// Server is a fake Bolt API: a GraphQL endpoint and an artifact host on one
// listener. All methods are safe for concurrent use.
type Server struct {
	opts    Options
	log     *slog.Logger
	schema  *graphql.Schema
	signKey []byte
	handler http.Handler

	mu        sync.RWMutex
	runs      map[int64]*Run
	commands  map[int64]commandRef
	resources map[int64]resourceRef

	urlMu       sync.Mutex
	issued      map[string]*issuedURL // by signature
	urlIssuedTo map[int64]bool        // resource ids that already got a URL

	faultMu sync.Mutex
	faults  map[string]*faultState
	rng     *mrand.Rand

	rec recorder

	// testHook, when set, runs in every download handler once it is
	// counted in flight (tests use it to hold requests open).
	testHook atomic.Pointer[func()]

	lifeMu    sync.Mutex
	srv       *http.Server
	baseURL   string
	done      chan struct{}
	closeOnce sync.Once
}

type commandRef struct {
	run *Run
	cmd *Command
}

type resourceRef struct {
	run *Run
	cmd *Command
	res *Resource
}

// New returns a Server configured by opts; call Start, or mount Handler in a
// server of your own (then tell it its address with SetURL).
func New(opts Options) *Server {
	if opts.URLTTL <= 0 {
		opts.URLTTL = 5 * time.Minute
	}
	if opts.LogPageSize <= 0 {
		opts.LogPageSize = 100
	}
	if opts.MaxRequestBody <= 0 {
		opts.MaxRequestBody = 1 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.EndpointToken == "" {
		opts.EndpointToken = "fake" + randomHex(8)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		opts:        opts,
		log:         logger,
		signKey:     []byte(randomHex(32)),
		runs:        make(map[int64]*Run),
		commands:    make(map[int64]commandRef),
		resources:   make(map[int64]resourceRef),
		issued:      make(map[string]*issuedURL),
		urlIssuedTo: make(map[int64]bool),
		faults:      make(map[string]*faultState),
		rng:         mrand.New(mrand.NewPCG(uint64(opts.Seed), 0x626f6c74)),
		done:        make(chan struct{}),
	}
	s.rec.init()
	s.schema = graphql.MustParseSchema(schemaSDL, &rootResolver{s: s},
		graphql.UseFieldResolvers(),
		graphql.MaxDepth(12),
		graphql.MaxQueryLength(64<<10),
	)
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/{token}/graphql", s.serveGraphQL)
	mux.HandleFunc("GET /artifacts/{id}/{path...}", s.serveArtifact)
	mux.HandleFunc("/", s.serveNotFound)
	s.handler = mux
	return s
}

// Start listens on a random loopback port (127.0.0.1:0) and serves until
// Close.
func (s *Server) Start() error {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	select {
	case <-s.done:
		return errors.New("fakebolt: start: server already closed")
	default:
	}
	if s.srv != nil {
		return errors.New("fakebolt: start: server already started")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("fakebolt: listen on loopback: %w", err)
	}
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.baseURL = "http://" + ln.Addr().String()
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("fakebolt: serve", "err", err)
		}
	}()
	return nil
}

// Close stops the listener, ends open connections and wakes every handler
// that is sleeping (latency, throttling). It is idempotent.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.lifeMu.Lock()
		srv := s.srv
		s.lifeMu.Unlock()
		if srv != nil {
			_ = srv.Close() // first, so a woken handler cannot answer
		}
		close(s.done)
	})
}

// Handler returns the server's handler, to mount in an httptest server
// instead of calling Start. Call SetURL with that server's URL so that
// URL, APIURL and the payloads point at it.
func (s *Server) Handler() http.Handler { return s.handler }

// SetURL sets the base URL (scheme://host:port) the server is reached at when
// it is mounted through Handler rather than started with Start.
func (s *Server) SetURL(base string) {
	s.lifeMu.Lock()
	s.baseURL = base
	s.lifeMu.Unlock()
}

// URL returns the base URL, http://127.0.0.1:PORT once started.
func (s *Server) URL() string {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	return s.baseURL
}

// APIURL returns the GraphQL endpoint, shaped like Paradime's:
// URL()+"/api/v1/<token>/graphql".
func (s *Server) APIURL() string {
	return s.URL() + "/api/v1/" + s.opts.EndpointToken + "/graphql"
}

// AddRun stores a run (replacing any run with the same ID) and indexes its
// commands and resources by ID. It keeps its own copy of r.
func (s *Server) AddRun(r Run) {
	run := cloneRun(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.runs[run.ID]; ok {
		for i := range old.Commands {
			delete(s.commands, old.Commands[i].ID)
			for j := range old.Commands[i].Resources {
				delete(s.resources, old.Commands[i].Resources[j].ID)
			}
		}
	}
	s.runs[run.ID] = run
	for i := range run.Commands {
		c := &run.Commands[i]
		s.commands[c.ID] = commandRef{run: run, cmd: c}
		for j := range c.Resources {
			s.resources[c.Resources[j].ID] = resourceRef{run: run, cmd: c, res: &c.Resources[j]}
		}
	}
}

func cloneRun(r Run) *Run {
	run := r
	run.ScheduleCommands = append([]string(nil), r.ScheduleCommands...)
	run.EmailNotify = append([]string(nil), r.EmailNotify...)
	run.SlackNotify = append([]string(nil), r.SlackNotify...)
	run.Commands = make([]Command, len(r.Commands))
	for i, c := range r.Commands {
		c.Resources = append([]Resource(nil), c.Resources...)
		run.Commands[i] = c
	}
	return &run
}

func (s *Server) lookupCommand(id int64) (commandRef, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ref, ok := s.commands[id]
	return ref, ok
}

func (s *Server) lookupResource(id int64) (resourceRef, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ref, ok := s.resources[id]
	return ref, ok
}

func (s *Server) lookupRun(id int64) (*Run, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.runs[id]
	return r, ok
}

// sleep waits for d, or until the request or the server ends. It reports
// whether the full delay elapsed.
func (s *Server) sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	case <-s.done:
		return false
	}
}

// wait sleeps like sleep; when cut short it drops the connection, so a
// handler woken by Close never sends a half-made answer.
func (s *Server) wait(w http.ResponseWriter, r *http.Request, d time.Duration) bool {
	if s.sleep(r, d) {
		return true
	}
	abort(w, true)
	return false
}

func (s *Server) serveNotFound(w http.ResponseWriter, r *http.Request) {
	end := s.rec.begin("other", r.Header, true)
	defer end()
	// Only the first segment: a path can hold an endpoint token.
	first, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	s.log.Debug("fakebolt: unknown route", "method", r.Method, "first_segment", first)
	writeJSONStatus(w, http.StatusNotFound, "not found")
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

// setTestHook installs fn to run inside every download once it is counted in
// flight.
func (s *Server) setTestHook(fn func()) { s.testHook.Store(&fn) }
