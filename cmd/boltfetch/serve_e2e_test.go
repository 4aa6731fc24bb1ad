package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/boltfetch/boltfetch/internal/fakebolt"
)

// End-to-end tests of `boltfetch serve` as a child process: the binary is
// built once per test run, the fake Bolt API runs in the test, and the
// processes are killed for real.

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// boltfetchBinary builds this command once and returns its path.
func boltfetchBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "boltfetch-e2e-"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "boltfetch")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

const e2eToken = "e2e-token-0123456789abcdef"

// e2eFake is the fake Bolt API behind a counter of downloads per artifact.
type e2eFake struct {
	fb  *fakebolt.Server
	srv *httptest.Server

	mu        sync.Mutex
	downloads map[string]int // by URL path, /artifacts/<resource id>/<path>
}

func newE2EFake(t *testing.T, latency time.Duration) *e2eFake {
	t.Helper()
	f := &e2eFake{downloads: map[string]int{}}
	f.fb = fakebolt.New(fakebolt.Options{APIKey: "e2e-key", APISecret: "e2e-secret", Latency: latency})
	h := f.fb.Handler()
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/artifacts/") {
			f.mu.Lock()
			f.downloads[r.URL.Path]++
			f.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	f.fb.SetURL(f.srv.URL)
	return f
}

func (f *e2eFake) downloadCounts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := make(map[string]int, len(f.downloads))
	for k, v := range f.downloads {
		m[k] = v
	}
	return m
}

// e2eArtifacts is a small real dbt pair, so that each follow-up is fast and
// its analysis real.
func e2eArtifacts(t *testing.T) (manifest, runResults []byte) {
	t.Helper()
	dir := filepath.Join("..", "..", "artifacts", "testdata", "openlineage-fail")
	m, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := os.ReadFile(filepath.Join(dir, "run_results.json"))
	if err != nil {
		t.Fatal(err)
	}
	return m, r
}

// addRuns adds n runs from first on, each with one command and two
// artifacts, and returns their completed payloads by run id.
func (f *e2eFake) addRuns(t *testing.T, first int64, n int) map[int64][]byte {
	t.Helper()
	m, rr := e2eArtifacts(t)
	payloads := map[int64][]byte{}
	start := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	for i := range int64(n) {
		id := first + i
		f.fb.AddRun(fakebolt.Run{
			ID: id, Status: "failed", ScheduleName: "nightly",
			Workspace: fakebolt.Workspace{Name: "ws", UID: "ws-uid"},
			Start:     start, End: start.Add(time.Minute),
			Commands: []fakebolt.Command{{
				ID: id * 10, Command: "dbt build", Status: "failed", ReturnCode: 1,
				Stdout: fmt.Sprintf("run %d: 1 of 3 ERROR\n", id), Start: start, End: start.Add(time.Minute),
				Resources: []fakebolt.Resource{
					{ID: id*100 + 1, Path: "target/manifest.json", Data: m},
					{ID: id*100 + 2, Path: "target/run_results.json", Data: rr},
				},
			}},
		})
		p, err := f.fb.CompletedPayload(id)
		if err != nil {
			t.Fatal(err)
		}
		payloads[id] = p
	}
	return payloads
}

// serveProc is one `boltfetch serve` child process.
type serveProc struct {
	cmd  *exec.Cmd
	addr string
	done chan struct{}

	mu     sync.Mutex
	stderr bytes.Buffer
}

// startServe starts serve with args (plus the fake's credentials and a
// loopback listener) and waits for its listening line.
func startServe(t *testing.T, f *e2eFake, args ...string) *serveProc {
	t.Helper()
	u, _ := url.Parse(f.srv.URL)
	all := append([]string{"serve", "--listen", "127.0.0.1:0", "--log-format", "json",
		"--api-key", "e2e-key", "--api-secret", "e2e-secret", "--allow-host", u.Hostname(),
		"--token", e2eToken}, args...)
	cmd := exec.Command(boltfetchBinary(t), all...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PARADIME_") && !strings.HasPrefix(kv, "BOLTFETCH_") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serveProc{cmd: cmd, done: make(chan struct{})}
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			p.mu.Lock()
			p.stderr.Write(line)
			p.stderr.WriteByte('\n')
			p.mu.Unlock()
			var rec struct{ Msg, Addr string }
			if json.Unmarshal(line, &rec) == nil && rec.Msg == "boltfetch serve: listening" {
				addrc <- rec.Addr
			}
		}
		cmd.Wait() //nolint:errcheck // the exit status is read from ProcessState
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill() //nolint:errcheck
			<-p.done
		}
		if t.Failed() {
			t.Logf("serve stderr (pid %d):\n%s", cmd.Process.Pid, p.log())
		}
	})
	select {
	case p.addr = <-addrc:
	case <-p.done:
		t.Fatalf("serve exited before listening:\n%s", p.log())
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not listen within 30 s:\n%s", p.log())
	}
	return p
}

func (p *serveProc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

func (p *serveProc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

func (p *serveProc) post(t *testing.T, payload []byte) int {
	t.Helper()
	resp, err := http.Post("http://"+p.addr+"/webhooks/paradime?token="+e2eToken, "application/json", bytes.NewReader(payload))
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	io.Copy(io.Discard, resp.Body) //nolint:errcheck
	resp.Body.Close()
	return resp.StatusCode
}

// runsIn lists the runs in state, as GET /runs shows them.
func (p *serveProc) runsIn(t *testing.T, state string) []map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+p.addr+"/runs?limit=1000&state="+state, nil)
	req.Header.Set("Authorization", "Bearer "+e2eToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /runs: %v", err)
	}
	defer resp.Body.Close()
	var body struct{ Runs []map[string]any }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /runs: %d, %v", resp.StatusCode, err)
	}
	return body.Runs
}

// waitFor polls cond every 50 ms until it holds, or fails after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// postAll posts every payload, 8 at a time, and checks each is accepted.
func postAll(t *testing.T, p *serveProc, payloads map[int64][]byte) {
	t.Helper()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for id, body := range payloads {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if code := p.post(t, body); code != http.StatusAccepted {
				t.Errorf("run %d: status %d, want 202", id, code)
			}
		}()
	}
	wg.Wait()
}

// archivedArtifacts lists, from every command.json under out, the artifacts
// recorded as archived (verified and complete), as the fake's download
// paths.
func archivedArtifacts(t *testing.T, out string) map[string]bool {
	t.Helper()
	got := map[string]bool{}
	filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error { //nolint:errcheck
		if err != nil || d.IsDir() || d.Name() != "command.json" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		var rec struct {
			Artifacts []struct {
				ResourceID json.Number `json:"resource_id"`
				Path       string      `json:"path"`
				SHA256     string      `json:"sha256"`
			} `json:"artifacts"`
		}
		if json.Unmarshal(b, &rec) != nil {
			return nil
		}
		for _, a := range rec.Artifacts {
			if a.SHA256 != "" {
				got["/artifacts/"+a.ResourceID.String()+"/"+a.Path] = true
			}
		}
		return nil
	})
	return got
}

// checkArchived checks that each run is archived complete and byte-exact.
func checkArchived(t *testing.T, out string, payloads map[int64][]byte) {
	t.Helper()
	m, rr := e2eArtifacts(t)
	for id, want := range payloads {
		dir := filepath.Join(out, "ws", "nightly", strconv.FormatInt(id, 10))
		got, err := os.ReadFile(filepath.Join(dir, "payload.json"))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("run %d: payload.json differs from what was posted (%v)", id, err)
		}
		var rep struct {
			Summary struct{ Complete bool } `json:"summary"`
		}
		b, err := os.ReadFile(filepath.Join(dir, "report.json"))
		if err != nil || json.Unmarshal(b, &rep) != nil || !rep.Summary.Complete {
			t.Errorf("run %d: report.json not complete (%v)", id, err)
		}
		cmdDir := filepath.Join(dir, "commands", strconv.FormatInt(id*10, 10), "target")
		for name, want := range map[string][]byte{"manifest.json": m, "run_results.json": rr} {
			if got, err := os.ReadFile(filepath.Join(cmdDir, name)); err != nil || !bytes.Equal(got, want) {
				t.Errorf("run %d: %s not archived byte-exact (%v)", id, name, err)
			}
		}
	}
}

// TestServeCrash posts 50 distinct runs, SIGKILLs serve mid-processing and
// restarts it: every run ends done, complete and byte-exact, and no artifact
// archived before the kill is downloaded again.
func TestServeCrash(t *testing.T) {
	t.Parallel()
	f := newE2EFake(t, 20*time.Millisecond)
	payloads := f.addRuns(t, 5000, 50)
	data, out := t.TempDir(), t.TempDir()
	args := []string{"--data-dir", data, "--out", out, "--workers", "2"}
	p := startServe(t, f, args...)
	postAll(t, p, payloads)
	waitFor(t, 60*time.Second, "5 runs done and others processing", func() bool {
		return len(p.runsIn(t, "done")) >= 5 && len(p.runsIn(t, "processing")) >= 1
	})
	p.kill(t)
	before := f.downloadCounts()
	archived := archivedArtifacts(t, out)
	if len(archived) == 0 || len(archived) >= 100 {
		t.Logf("%d of 100 artifacts archived at the kill", len(archived))
	}

	p2 := startServe(t, f, args...)
	waitFor(t, 90*time.Second, "all 50 runs done", func() bool { return len(p2.runsIn(t, "done")) == 50 })
	for _, r := range p2.runsIn(t, "") {
		if r["state"] != "done" {
			t.Errorf("run %v: %v", r["run_id"], r)
		}
	}
	if !strings.Contains(p2.log(), "requeued runs left processing by a previous process") {
		t.Error("the restarted serve did not requeue the runs the killed one left processing")
	}
	checkArchived(t, out, payloads)
	after := f.downloadCounts()
	for path := range archived {
		if after[path] != before[path] {
			t.Errorf("%s was archived before the kill, yet downloaded again (%d → %d)", path, before[path], after[path])
		}
	}
	if len(after) != 100 {
		t.Errorf("%d artifacts downloaded, want 100", len(after))
	}
	// A re-delivery after the restart is a duplicate.
	for id, body := range payloads {
		if code := p2.post(t, body); code != http.StatusOK {
			t.Errorf("re-delivery of run %d: %d, want 200", id, code)
		}
		break
	}
	if err := p2.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p2.done:
		if code := p2.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("serve exit %d after SIGTERM", code)
		}
	case <-time.After(30 * time.Second):
		t.Error("serve did not stop within 30 s of SIGTERM")
	}
	t.Logf("%d artifacts archived at the kill; downloads before %d, after %d", len(archived), total(before), total(after))
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// pgSchemaDSN creates a fresh schema and returns a DSN that selects it.
func pgSchemaDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("BOLTFETCH_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("BOLTFETCH_TEST_POSTGRES is not set")
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "serve_e2e_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c, err := pgx.Connect(context.Background(), dsn); err == nil {
			c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE") //nolint:errcheck
			c.Close(context.Background())
		}
	})
	u, _ := url.Parse(dsn)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// TestServeReplicas runs two serve processes on one PostgreSQL inbox and one
// archive: 50 runs are each followed up exactly once. Then one replica is
// killed mid-run, and the other finishes its runs after the job timeout.
func TestServeReplicas(t *testing.T) {
	t.Parallel()
	dsn := pgSchemaDSN(t)
	f := newE2EFake(t, 20*time.Millisecond)
	payloads := f.addRuns(t, 7000, 50)
	out := t.TempDir()
	args := []string{"--inbox", dsn, "--out", out, "--workers", "2", "--job-timeout", "2s"}
	a := startServe(t, f, args...)
	b := startServe(t, f, args...)
	// Deliveries go to both replicas, half each, as a load balancer does.
	half := map[int64][]byte{}
	rest := map[int64][]byte{}
	for id, body := range payloads {
		if id%2 == 0 {
			half[id] = body
		} else {
			rest[id] = body
		}
	}
	postAll(t, a, half)
	postAll(t, b, rest)
	waitFor(t, 90*time.Second, "all 50 runs done", func() bool { return len(a.runsIn(t, "done")) == 50 })
	for _, r := range b.runsIn(t, "done") {
		if r["attempts"] != float64(1) {
			t.Errorf("run %v followed up %v times, want once", r["run_id"], r["attempts"])
		}
	}
	for path, n := range f.downloadCounts() {
		if n != 1 {
			t.Errorf("%s downloaded %d times, want once", path, n)
		}
	}
	checkArchived(t, out, payloads)

	// Now kill one replica while it follows runs up: slow downloads keep
	// them in flight.
	slow := f.addRuns(t, 8000, 6)
	f.fb.SetFault(fakebolt.RouteDownload, fakebolt.Fault{Latency: 1500 * time.Millisecond})
	postAll(t, a, slow)
	waitFor(t, 30*time.Second, "runs processing", func() bool { return len(a.runsIn(t, "processing")) >= 3 })
	a.kill(t)
	killed := time.Now()
	f.fb.ClearFaults()
	waitFor(t, 90*time.Second, "the other replica finishes every run", func() bool { return len(b.runsIn(t, "done")) == 56 })
	t.Logf("the surviving replica finished the killed one's runs %s after the kill (job timeout 2s; River's rescuer runs every 30 s)", time.Since(killed).Round(100*time.Millisecond))
	rescued := 0
	for _, r := range b.runsIn(t, "done") {
		if id := int64(r["run_id"].(float64)); id >= 8000 && r["attempts"].(float64) >= 2 {
			rescued++
		}
	}
	if rescued == 0 {
		t.Error("no run of the killed replica was run again (attempts ≥ 2)")
	}
	checkArchived(t, out, slow)
}

// TestServeUIInChromium opens River's job UI (--ui) in a real browser,
// headless Debian chromium, through HTTP Basic auth: it takes a screenshot
// and checks that the page rendered the inbox's job. It skips where chromium
// is absent.
func TestServeUIInChromium(t *testing.T) {
	t.Parallel()
	browser, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (apt-get install chromium)")
	}
	f := newE2EFake(t, 0)
	payloads := f.addRuns(t, 9100, 1)
	p := startServe(t, f, "--data-dir", t.TempDir(), "--out", t.TempDir(), "--ui")
	postAll(t, p, payloads)
	waitFor(t, 30*time.Second, "the run done", func() bool { return len(p.runsIn(t, "done")) == 1 })

	// Without credentials the UI is refused.
	resp, err := http.Get("http://" + p.addr + "/ui/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /ui/ without credentials: %d, want 401", resp.StatusCode)
	}

	// A browser cannot be handed a Basic auth header on its command line,
	// and a page whose URL holds credentials may not fetch() its API, so a
	// loopback proxy adds the header, as a user's browser does once the
	// password is typed.
	backend, _ := url.Parse("http://" + p.addr)
	rp := httputil.NewSingleHostReverseProxy(backend)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.SetBasicAuth("boltfetch", e2eToken)
		rp.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	dir := t.TempDir()
	shot := filepath.Join(dir, "ui.png")
	target := proxy.URL + "/ui/jobs?state=completed"
	common := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
		"--user-data-dir=" + filepath.Join(dir, "profile"), "--window-size=1280,800", "--virtual-time-budget=8000"}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, browser, append(common, "--screenshot="+shot, target)...).CombinedOutput(); err != nil {
		t.Fatalf("chromium --screenshot: %v\n%s", err, out)
	}
	if keep := os.Getenv("BOLTFETCH_UI_SCREENSHOT"); keep != "" { // to look at it
		if b, err := os.ReadFile(shot); err == nil {
			os.WriteFile(keep, b, 0o644) //nolint:errcheck
		}
	}
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 5000 {
		t.Errorf("screenshot %v, %v: want a PNG of the page", fi, err)
	}
	dom, err := exec.CommandContext(ctx, browser, append(common, "--dump-dom", target)...).Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v", err)
	}
	if !bytes.Contains(dom, []byte("boltfetch_follow_up")) {
		t.Errorf("the UI did not render the inbox's job (no boltfetch_follow_up in the page):\n%.2000s", dom)
	}
	if bytes.Contains(dom, []byte("/api/v1/")) {
		t.Error("the UI shows a payload's api_url")
	}
}
