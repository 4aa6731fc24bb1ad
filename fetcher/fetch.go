package fetcher

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/boltfetch/boltfetch/archive"
	"github.com/boltfetch/boltfetch/artifacts"
)

// Archived file names inside a command's folder; a resource may not take one.
const (
	stdoutName  = "stdout.log"
	stderrName  = "stderr.log"
	commandName = "command.json"
)

// bolt is what Fetch needs from Paradime's API, bound to one api_url.
// *client.Client provides it (clientBolt); unit tests replace it.
type bolt interface {
	// commandOutput runs a payload's api_query and returns the command's
	// full stdout and stderr, and where they came from.
	commandOutput(ctx context.Context, document string, commandID int64) (stdout, stderr, source string, err error)
	// resourceURL runs a payload's resource_query and returns the presigned
	// URL.
	resourceURL(ctx context.Context, document string, resourceID int64) (string, error)
}

// Fetch reads one webhook payload and follows it up: every selected
// command's logs and artifacts are fetched concurrently, archived and
// analysed. The error is only for unusable input or options (a bad payload, an
// api_url host that is not allowed, no archive): failures of single items go
// into the report, whose Summary.Complete says whether everything was fetched.
func Fetch(ctx context.Context, payload io.Reader, opts Options) (*Report, error) {
	p, err := DecodePayload(payload, opts.MaxPayloadSize)
	if err != nil {
		return nil, err
	}
	return FetchPayload(ctx, p, opts)
}

// FetchPayload is Fetch for a payload already decoded.
func FetchPayload(ctx context.Context, p *Payload, opts Options) (*Report, error) {
	began := time.Now()
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	rep := &Report{
		ReportVersion: ReportVersion,
		Event:         EventCompleted,
		Run: RunInfo{
			ID: ID(p.RunID), UUID: p.UUID, Status: p.Status, ScheduleName: p.ScheduleName,
			Workspace: p.Workspace, RunURL: p.RunURL,
			Start: normalizeTime(p.Start), End: normalizeTime(p.End),
		},
		Archive:  ArchiveInfo{Location: opts.Archive.Location()},
		Commands: []CommandReport{},
		Errors:   []ItemError{},
	}
	if p.Started {
		rep.Event = EventStarted
	}
	if p.Started || len(p.Commands) == 0 {
		rep.NothingToFetch = true
		rep.Summary.Complete = true
		opts.Logger.Info("nothing to fetch", "event", rep.Event, "run", p.RunID)
		return rep, nil
	}

	api := opts.api
	// Plain http artifact URLs to loopback are followed only when the API
	// endpoint is itself on loopback (the fake, the demo, local tests).
	loopbackHTTP := opts.loopbackHTTP
	if api == nil {
		bound, err := opts.Client.WithEndpoint(p.APIURL)
		if err != nil {
			return nil, &PayloadError{Path: "api_url", Reason: "refused", Err: err}
		}
		api = clientBolt{bound}
		loopbackHTTP = allowLoopbackHTTP(bound.Host())
	}
	rep.Run.APIHost = apiHost(p.APIURL)

	folder := opts.Folder
	if folder == "" {
		folder = RunFolder(p)
	}
	rep.Archive.Folder = folder

	r := &runner{
		opts:   opts,
		api:    api,
		store:  opts.Archive,
		folder: folder,
		log:    opts.Logger.With("run", p.RunID),
		dl: &downloader{
			http:        opts.HTTPClient,
			maxSize:     opts.MaxArtifactSize,
			attempts:    opts.DownloadAttempts,
			idleTimeout: opts.IdleTimeout,
			backoff:     opts.backoff,

			loopbackHTTP: loopbackHTTP,
		},
	}
	// Everything below reads and writes the run's folder under its lock.
	unlock, err := lockRun(ctx, r.store, folder)
	if err != nil {
		e := itemErr(StageArchive, fmt.Errorf("lock the run's folder: %w", err))
		if ctx.Err() != nil {
			e.Kind = KindCanceled
		} else if e.Kind == KindError {
			e.Kind = KindArchive
		}
		rep.Errors = append(rep.Errors, e)
		rep.Summary = summarize(rep, 0, time.Since(began))
		return rep, nil
	}
	defer unlock()
	if _, err := archive.WriteFile(ctx, r.store, folder+"/payload.json", p.Raw); err != nil {
		r.runErr(ItemError{Stage: StageArchive, Kind: KindArchive, Message: "payload.json: " + err.Error()})
	}
	r.plan(ctx, p.Commands)
	r.log.Info("fetching", "api_host", rep.Run.APIHost, "commands", len(r.cmds), "tasks", r.tasks, "concurrency", opts.Concurrency)
	r.execute(ctx)

	// The records and reports are written even after a cancel (they are
	// small), so the archive always says what it holds.
	wctx := context.WithoutCancel(ctx)
	for _, cs := range r.cmds {
		if cs.writeRecord {
			r.finishCommand(wctx, cs)
		}
		rep.Commands = append(rep.Commands, cs.rep)
	}
	rep.Errors = append(rep.Errors, r.errs...)
	for _, c := range rep.Commands {
		rep.Errors = append(rep.Errors, c.Errors...)
	}
	rep.Summary = summarize(rep, r.downloaded.Load(), time.Since(began))
	rep.Summary.AnalysesStreamed = int(r.streamed.Load())
	r.writeReports(wctx, rep)
	// Report-writing errors were added to rep.Errors by writeReports.
	rep.Summary.Errors = len(rep.Errors)
	rep.Summary.Complete = len(rep.Errors) == 0
	return rep, nil
}

// runner is the state of one Fetch.
type runner struct {
	opts   Options
	api    bolt
	store  archive.Store
	folder string
	log    *slog.Logger
	dl     *downloader

	cmds       []*cmdState
	tasks      int
	downloaded atomic.Int64
	streamed   atomic.Int64 // analyses done while downloading

	mu   sync.Mutex
	errs []ItemError // run-level
}

// cmdState is one command being fetched. Each task owns its slot in
// rep.Artifacts; the rest is guarded by mu.
type cmdState struct {
	c   Command
	dir string // <folder>/commands/<id>
	idx *commandIndex

	mu  sync.Mutex
	rep CommandReport

	// Tasks whose end the analysis waits for, and which slots hold the pair.
	analysisWait      atomic.Int32
	manifest, results int // indexes in rep.Artifacts, -1 when absent

	// A streamed analysis reads the pair while it downloads.
	mTee, rTee *streamTee
	streamOnce sync.Once
	streamDone chan struct{}
	streamAn   *artifacts.Analysis
	streamErr  error

	// resultsGo is closed once the run_results task holds its slot of a
	// shared Limiter, or has ended (see acquireSlot).
	resultsGo     chan struct{}
	resultsGoOnce sync.Once

	fetchLogs    bool
	resourceIdx  []int // payload resource index of each rep.Artifacts slot
	writeRecord  bool
	resourcePlan []bool // rep.Artifacts slot needs a task
}

func (r *runner) runErr(e ItemError) {
	r.mu.Lock()
	r.errs = append(r.errs, e)
	r.mu.Unlock()
	r.log.Warn("fetch error", "stage", e.Stage, "kind", e.Kind, "error", e.Message)
}

func (cs *cmdState) addErr(log *slog.Logger, e ItemError) {
	e.CommandID = cs.rep.ID
	cs.mu.Lock()
	cs.rep.Errors = append(cs.rep.Errors, e)
	cs.mu.Unlock()
	log.Warn("fetch error", "command", e.CommandID, "resource", e.ResourceID, "path", e.Path, "stage", e.Stage, "kind", e.Kind, "error", e.Message)
}

// plan decides, for every command, what must be fetched.
func (r *runner) plan(ctx context.Context, cmds []Command) {
	seen := map[string]bool{}
	for _, c := range cmds {
		cs := &cmdState{c: c, manifest: -1, results: -1}
		cs.rep = CommandReport{
			ID: ID(c.RawID), Command: c.Command, Status: c.Status, ReturnCode: c.ReturnCode,
			Start: normalizeTime(c.Start), End: normalizeTime(c.End),
			Artifacts: []ArtifactReport{}, Errors: []ItemError{},
		}
		r.cmds = append(r.cmds, cs)
		idName := archive.SafeName(c.RawID)
		switch {
		case c.Bad != "":
			cs.addErr(r.log, ItemError{Stage: StagePayload, Kind: KindBadPayload, Message: c.Bad + ": nothing is fetched for this command"})
			continue
		case c.ID <= 0:
			cs.addErr(r.log, ItemError{Stage: "payload", Kind: KindBadPayload, Message: fmt.Sprintf("command id %q is not a positive integer: nothing can be asked about it", c.RawID)})
			continue
		case seen[strings.ToLower(idName)]:
			cs.addErr(r.log, ItemError{Stage: "payload", Kind: KindBadPayload, Message: fmt.Sprintf("command id %q appears twice in the payload: only the first is fetched", c.RawID)})
			continue
		}
		seen[strings.ToLower(idName)] = true
		cs.dir = r.folder + "/commands/" + idName
		idx, err := loadIndex(ctx, r.store, cs.dir, r.log)
		if err != nil {
			cs.addErr(r.log, ItemError{Path: commandName, Stage: StageArchive, Kind: KindArchive, Message: err.Error() + ": nothing is fetched for this command"})
			continue
		}
		cs.writeRecord = true
		cs.idx = idx
		cs.idx.describe(&cs.rep)

		cs.fetchLogs = r.opts.Logs == LogsAll || (r.opts.Logs == LogsFailed && c.Failed())
		if cs.fetchLogs {
			r.tasks++
		}
		// The planned files and their folders, lowercased: on macOS and
		// Windows names that differ only in case are one file.
		files, dirs := map[string]bool{}, map[string]bool{}
		for i, res := range c.Resources {
			clean, perr := archive.CleanPath(res.Path)
			// The selection comes first: a path the user did not ask for is
			// skipped even when it could not be archived.
			sel := clean
			if perr != nil {
				sel = strings.ReplaceAll(res.Path, `\`, "/")
			}
			if !selected(r.opts.Artifacts, sel) {
				continue
			}
			slot := len(cs.rep.Artifacts)
			a := ArtifactReport{ResourceID: ID(res.RawID), Path: clean}
			cs.rep.Artifacts = append(cs.rep.Artifacts, a)
			cs.resourceIdx = append(cs.resourceIdx, i)
			fail := func(kind, msg string) {
				cs.rep.Artifacts[slot].Error = &msg
				cs.addErr(r.log, ItemError{ResourceID: ID(res.RawID), Path: res.Path, Stage: "payload", Kind: kind, Message: msg})
				cs.resourcePlan = append(cs.resourcePlan, false)
			}
			if perr != nil {
				cs.rep.Artifacts[slot].Path = res.Path
				fail(KindPathRefused, perr.Error())
				continue
			}
			if msg := pathConflict(clean, files, dirs); msg != "" {
				fail(KindPathRefused, msg)
				continue
			}
			if res.ID <= 0 {
				fail(KindBadPayload, fmt.Sprintf("resource id %q is not a positive integer", res.RawID))
				continue
			}
			lower := strings.ToLower(clean)
			files[lower] = true
			for d := path.Dir(lower); d != "."; d = path.Dir(d) {
				dirs[d] = true
			}
			cs.resourcePlan = append(cs.resourcePlan, true)
			r.tasks++
			switch path.Base(clean) {
			case "manifest.json":
				if cs.manifest < 0 || clean == "target/manifest.json" {
					cs.manifest = slot
				}
			case "run_results.json":
				if cs.results < 0 || clean == "target/run_results.json" {
					cs.results = slot
				}
			}
		}
		if cs.manifest >= 0 && cs.results >= 0 {
			cs.resultsGo = make(chan struct{})
			cs.analysisWait.Store(2)
			cs.mTee, cs.rTee = newStreamTee(), newStreamTee()
			cs.streamDone = make(chan struct{})
		}
	}
}

// pathConflict says why the clean resource path p cannot be archived in its
// command's folder next to the files already planned there, or "" when it
// can. files and dirs hold the lowercased planned files and their folders.
// The command's own files (stdout.log, stderr.log, command.json) are
// reserved: as the whole path, or as its first folder, which would keep them
// from being written. A path may not be a planned file's folder, nor sit
// under a planned file: one of the two could not be written.
func pathConflict(p string, files, dirs map[string]bool) string {
	lower := strings.ToLower(p)
	first, _, nested := strings.Cut(lower, "/")
	switch first {
	case stdoutName, stderrName, commandName:
		if nested {
			return fmt.Sprintf("resource path %q would make a folder named %s, a name this command's folder keeps for its own file", p, first)
		}
		return fmt.Sprintf("resource path %q is %s, a name this command's folder keeps for its own file", p, first)
	}
	switch {
	case files[lower]:
		return fmt.Sprintf("resource path %q is already taken in this command's folder (names are compared ignoring case)", p)
	case dirs[lower]:
		return fmt.Sprintf("resource path %q is the folder of another resource path in this command (names are compared ignoring case)", p)
	}
	for i := strings.LastIndexByte(p, '/'); i > 0; i = strings.LastIndexByte(p[:i], '/') {
		if files[strings.ToLower(p[:i])] {
			return fmt.Sprintf("resource path %q needs the folder %q, which is already another resource's file in this command (names are compared ignoring case)", p, p[:i])
		}
	}
	return ""
}

// execute runs every task under one errgroup. Tasks never return an error:
// one failure must not cancel its siblings, so each records its own.
func (r *runner) execute(ctx context.Context) {
	var g errgroup.Group
	g.SetLimit(r.opts.Concurrency)
	// Tasks start in the order they are given to the group. Artifacts go
	// first (they are the long chains), and a command's run_results before
	// its manifest: a streamed analysis may hold the manifest's download
	// until run_results is read, so run_results must already be running
	// (see streamTee).
	for _, cs := range r.cmds {
		if !cs.writeRecord {
			continue
		}
		order := make([]int, 0, len(cs.resourcePlan))
		if cs.results >= 0 {
			order = append(order, cs.results)
		}
		for slot, planned := range cs.resourcePlan {
			if planned && slot != cs.results {
				order = append(order, slot)
			}
		}
		for _, slot := range order {
			g.Go(func() error { r.artifactTask(ctx, cs, slot); return nil })
		}
	}
	for _, cs := range r.cmds {
		if cs.writeRecord && cs.fetchLogs {
			g.Go(func() error { r.logsTask(ctx, cs); return nil })
		}
	}
	_ = g.Wait()
}

// logsTask archives one command's stdout and stderr, unless the archive
// already holds them complete.
func (r *runner) logsTask(ctx context.Context, cs *cmdState) {
	release, err := r.acquireSlot(ctx, cs, -1)
	if err != nil {
		cs.addErr(r.log, itemErr(StageAPIQuery, err))
		return
	}
	defer release()
	outKey, errKey := cs.dir+"/"+stdoutName, cs.dir+"/"+stderrName
	if pl := cs.idx.logs(); pl != nil {
		outOK, outBad := r.verify(ctx, outKey, pl.Stdout)
		errOK, errBad := false, false
		if outOK {
			errOK, errBad = r.verify(ctx, errKey, pl.Stderr)
		}
		if pl.Stdout.Path == outKey && pl.Stderr.Path == errKey && outOK && errOK {
			cs.mu.Lock()
			cs.rep.Logs = &Logs{Stdout: pl.Stdout, Stderr: pl.Stderr, Source: "archive"}
			cs.mu.Unlock()
			return
		}
		if pl.Stdout.Path != outKey || pl.Stderr.Path != errKey || outBad || errBad {
			cs.idx.dropLogs()
		}
	}
	task := r.opts.Progress.Task(fmt.Sprintf("%s logs", cs.rep.ID))
	stdout, stderr, source, err := r.api.commandOutput(ctx, cs.c.APIQuery, cs.c.ID)
	if err != nil {
		task.Done(err)
		cs.addErr(r.log, itemErr(StageAPIQuery, err))
		return
	}
	task.SetTotal(int64(len(stdout) + len(stderr)))
	logs := &Logs{Source: source}
	for _, f := range []struct {
		key  string
		data string
		dst  **LogFile
	}{{outKey, stdout, &logs.Stdout}, {errKey, stderr, &logs.Stderr}} {
		d, err := archive.WriteFile(ctx, r.store, f.key, []byte(f.data))
		if err != nil {
			task.Done(err)
			cs.addErr(r.log, ItemError{Path: path.Base(f.key), Stage: "archive", Kind: KindArchive, Message: err.Error()})
			return
		}
		*f.dst = &LogFile{Path: f.key, Bytes: d.Bytes, SHA256: d.SHA256}
		task.Add(d.Bytes)
	}
	task.Done(nil)
	cs.mu.Lock()
	cs.rep.Logs = logs
	cs.mu.Unlock()
	if err := cs.idx.putLogs(context.WithoutCancel(ctx), logs); err != nil {
		cs.addErr(r.log, ItemError{Path: commandName, Stage: StageArchive, Kind: KindArchive, Message: err.Error()})
	}
}

// startStream starts the command's streamed analysis, once, when the first
// of its pair starts downloading: a command waiting for a slot holds no
// analysis buffers. It is not a task: it only reads what the downloads hand
// it, and ends when both streams end (every path of artifactTask ends its
// stream).
func (r *runner) startStream(ctx context.Context, cs *cmdState) {
	cs.streamOnce.Do(func() {
		go func() {
			defer close(cs.streamDone)
			cs.streamAn, cs.streamErr = r.opts.Analyzer(ctx, cs.mTee, cs.rTee)
			cs.mTee.detach()
			cs.rTee.detach()
		}()
	})
}

// artifactTask archives one artifact: from the archive itself when it is
// already there complete, else by asking its URL and downloading it, asking
// again (at most MaxURLRefreshes times) when the URL has expired. The
// download runs in the same task as the query, so it starts the moment its
// URL arrives and needs no second slot. The task that completes a command's
// manifest + run_results pair runs the analysis.
func (r *runner) artifactTask(ctx context.Context, cs *cmdState, slot int) {
	defer func() {
		if slot == cs.manifest || slot == cs.results {
			if cs.analysisWait.Add(-1) == 0 {
				r.analyze(ctx, cs)
			}
		}
	}()
	res := cs.c.Resources[cs.resourceIdx[slot]]
	a := cs.rep.Artifacts[slot] // this task owns the slot; copy back at the end
	defer func() { cs.rep.Artifacts[slot] = a }()
	if slot == cs.results && cs.resultsGo != nil {
		defer cs.resultsGoOnce.Do(func() { close(cs.resultsGo) })
	}
	var tee *streamTee
	switch slot {
	case cs.manifest:
		tee = cs.mTee
	case cs.results:
		tee = cs.rTee
	}
	streamed := false // the archived file is exactly what tee received
	defer func() { tee.finish(streamed) }()
	key := cs.dir + "/" + a.Path
	fail := func(stage string, err error) {
		msg := err.Error()
		a.Error = &msg
		e := itemErr(stage, err)
		e.ResourceID, e.Path = ID(res.RawID), a.Path
		cs.addErr(r.log, e)
	}
	release, err := r.acquireSlot(ctx, cs, slot)
	if err != nil {
		fail(StageResourceQuery, err)
		return
	}
	defer release()
	if slot == cs.results && cs.resultsGo != nil {
		cs.resultsGoOnce.Do(func() { close(cs.resultsGo) })
	}

	if prev := cs.idx.artifact(a.Path); prev != nil {
		ok, damaged := r.verify(ctx, key, &LogFile{Bytes: prev.Bytes, SHA256: prev.SHA256})
		if prev.Location == key && ok {
			a.Location, a.Bytes, a.SHA256, a.Reused = key, prev.Bytes, prev.SHA256, true
			return
		}
		// A file that could not be checked (a cancel, a read error) stays
		// indexed: only a file shown to differ is forgotten.
		if prev.Location != key || damaged {
			cs.idx.drop(a.Path)
		}
	}

	if wc, ok := r.store.(archive.WritableChecker); ok {
		if err := wc.CheckWritable(key); err != nil {
			fail("archive", err)
			return
		}
	}
	if tee != nil {
		r.startStream(ctx, cs)
	}
	task := r.opts.Progress.Task(string(cs.rep.ID) + " " + a.Path)
	for refresh := 0; ; refresh++ {
		u, err := r.api.resourceURL(ctx, res.ResourceQuery, res.ID)
		if err != nil {
			task.Done(err)
			fail("resource_query", err)
			return
		}
		d, err := r.dl.fetch(ctx, r.store, key, u, tee, task.Add, task.SetTotal)
		var de *DownloadError
		if errors.As(err, &de) {
			a.Attempts += de.Attempts
		} else if err == nil {
			a.Attempts++
		}
		if err == nil {
			streamed = true
			a.Location, a.Bytes, a.SHA256 = key, d.Bytes, d.SHA256
			r.downloaded.Add(d.Bytes)
			task.Done(nil)
			// Recorded at once, even when the follow-up is being cancelled:
			// the file is committed, and the next run must not fetch it.
			if err := cs.idx.putArtifact(context.WithoutCancel(ctx), a); err != nil {
				cs.addErr(r.log, ItemError{Path: commandName, Stage: StageArchive, Kind: KindArchive, Message: err.Error()})
			}
			return
		}
		if de != nil && de.Kind == KindExpired && refresh < MaxURLRefreshes {
			r.log.Info("presigned URL expired: asking for a fresh one", "command", cs.rep.ID, "resource", res.RawID, "url", de.URL)
			continue
		}
		task.Done(err)
		fail("download", err)
		return
	}
}

// analyze runs the analysis of a command whose manifest and run_results are
// both archived.
func (r *runner) analyze(ctx context.Context, cs *cmdState) {
	m, rr := cs.rep.Artifacts[cs.manifest], cs.rep.Artifacts[cs.results]
	fail := func(err error) {
		cs.addErr(r.log, ItemError{Stage: StageAnalysis, Kind: KindAnalysis, Message: err.Error()})
	}
	// No stream started (both files were already archived, or refused):
	// nothing to wait for.
	cs.streamOnce.Do(func() { close(cs.streamDone) })
	<-cs.streamDone
	if m.Location == "" || rr.Location == "" {
		return // their errors are already reported
	}
	if cs.mTee.complete() && cs.rTee.complete() {
		// The streamed analysis saw exactly the archived bytes.
		r.streamed.Add(1)
		if cs.streamErr != nil {
			fail(fmt.Errorf("analyse %s with %s: %w", rr.Path, m.Path, cs.streamErr))
			return
		}
		if cs.streamAn != nil {
			cs.mu.Lock()
			cs.rep.Analysis = cs.streamAn
			cs.mu.Unlock()
		}
		return
	}
	mf, err := r.store.Open(ctx, m.Location)
	if err != nil {
		fail(err)
		return
	}
	defer mf.Close()
	rf, err := r.store.Open(ctx, rr.Location)
	if err != nil {
		fail(err)
		return
	}
	defer rf.Close()
	an, err := r.opts.Analyzer(ctx, mf, rf)
	if err != nil {
		fail(fmt.Errorf("analyse %s with %s: %w", rr.Path, m.Path, err))
		return
	}
	if an == nil {
		return
	}
	cs.mu.Lock()
	cs.rep.Analysis = an
	cs.mu.Unlock()
}

// verify reports whether key holds exactly what want records (ok), or was
// shown not to (damaged: missing, or another size or content). Neither is
// true when the check itself failed.
func (r *runner) verify(ctx context.Context, key string, want *LogFile) (ok, damaged bool) {
	ok, err := archive.Verify(ctx, r.store, key, archive.Digest{Bytes: want.Bytes, SHA256: want.SHA256})
	if err != nil {
		r.log.Debug("cannot verify archived file: fetching it again", "key", key, "error", err)
		return false, false
	}
	return ok, !ok
}

// finishCommand completes a command's report with everything its folder
// holds that this follow-up did not select (the merged index), and rewrites
// command.json, which every follow-up of the command keeps whole.
func (r *runner) finishCommand(ctx context.Context, cs *cmdState) {
	if cs.rep.Logs == nil {
		if l := cs.idx.logs(); l != nil {
			cs.rep.Logs = &Logs{Stdout: l.Stdout, Stderr: l.Stderr, Source: "archive"}
		}
	}
	mine := map[string]bool{}
	for _, a := range cs.rep.Artifacts {
		mine[a.Path] = true
	}
	for _, a := range cs.idx.artifacts() {
		if !mine[a.Path] {
			a.Reused = true
			cs.rep.Artifacts = append(cs.rep.Artifacts, a)
		}
	}
	if err := cs.idx.write(ctx); err != nil {
		cs.addErr(r.log, ItemError{Path: commandName, Stage: StageArchive, Kind: KindArchive, Message: err.Error()})
	}
}

// writeReports writes report.json and report.md into the run's folder,
// each encoded once, straight into its archive writer.
func (r *runner) writeReports(ctx context.Context, rep *Report) {
	for _, f := range []struct {
		name  string
		write func(io.Writer) error
	}{{"report.json", rep.WriteJSON}, {"report.md", rep.WriteMarkdown}} {
		if err := writeStreamed(ctx, r.store, r.folder+"/"+f.name, f.write); err != nil {
			rep.Errors = append(rep.Errors, ItemError{Stage: StageArchive, Kind: KindArchive, Message: f.name + ": " + err.Error()})
		}
	}
}

// writeStreamed commits what write produces under key, through a buffer so
// that small writes do not each cost a system call.
func writeStreamed(ctx context.Context, store archive.Store, key string, write func(io.Writer) error) error {
	w, err := store.Create(ctx, key)
	if err != nil {
		return err
	}
	defer w.Abort()
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return w.Commit()
}

// summarize counts a report's outcome.
func summarize(rep *Report, downloaded int64, took time.Duration) Summary {
	s := Summary{Commands: len(rep.Commands), BytesDownloaded: downloaded, DurationMS: took.Milliseconds()}
	for _, c := range rep.Commands {
		if c.Failed() {
			s.CommandsFailed++
		}
		if c.Logs != nil {
			if c.Logs.Stdout != nil {
				s.LogsArchived++
			}
			if c.Logs.Stderr != nil {
				s.LogsArchived++
			}
		}
		for _, a := range c.Artifacts {
			switch {
			case a.Error != nil:
				s.ArtifactsFailed++
			case a.Reused:
				s.ArtifactsReused++
				s.ArtifactsArchived++
			default:
				s.ArtifactsArchived++
			}
		}
		if c.Analysis != nil {
			s.Analyses++
			s.NodesFailed += len(c.Analysis.Failed)
			s.NodesWarned += len(c.Analysis.Warned)
			s.NodesSkipped += len(c.Analysis.Skipped)
		}
	}
	s.Errors = len(rep.Errors)
	s.Complete = s.Errors == 0
	return s
}

// Failed reports whether dbt's command failed, by its status or return code.
func (c CommandReport) Failed() bool {
	return Command{Status: c.Status, ReturnCode: c.ReturnCode}.Failed()
}
