package lineage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/boltfetch/boltfetch/artifacts"
)

// DefaultProducer is the producer URI of the events when Config.Producer is
// empty.
const DefaultProducer = "https://github.com/boltfetch/boltfetch"

// MaxErrorMessage is the most bytes of an errorMessage facet's message: a
// failed command's log tail, a node's dbt message, a skip's causes.
const MaxErrorMessage = 4 << 10

// Run identifies the Bolt run the events belong to.
type Run struct {
	// ID is the Bolt run id, as text.
	ID           string
	Workspace    string
	ScheduleName string
	// Status is Bolt's status of the run ("succeeded", "failed", ...).
	Status     string
	Start, End time.Time
	// URL is the run's page in Paradime, if known.
	URL string
}

// Command is one command of the run, and its dbt artifacts if any.
type Command struct {
	// ID is the Bolt command id, as text.
	ID      string
	Command string
	// Status is Bolt's status of the command ("succeeded", "failed", ...).
	Status     string
	ReturnCode *int
	Start, End time.Time
	// StderrTail and StdoutTail are the ends of the command's logs; a
	// failed command's FAIL carries the stderr tail, else the stdout one,
	// cut to MaxErrorMessage bytes (see Tail).
	StderrTail, StdoutTail string
	// Manifest and RunResults open the command's archived artifacts; both
	// nil when it left none (its node events are then not sent).
	Manifest, RunResults artifacts.Opener
	// Analysis is the artifacts' analysis, if already made; nil makes the
	// exporter analyse them itself (for the causes of skips).
	Analysis *artifacts.Analysis
}

// Config configures an Exporter. Zero values mean the documented defaults.
type Config struct {
	// Namespace is the jobs' namespace. Default "paradime://<workspace>".
	Namespace string
	// DatasetNamespace is the datasets' namespace. Default: from the
	// adapter type, see DatasetNamespace.
	DatasetNamespace string
	// Producer is the events' producer URI. Default DefaultProducer.
	Producer string
	// Version is boltfetch's version, sent as the processing_engine facet's
	// openlineageAdapterVersion. Optional.
	Version string
	// Limits bound the reads of the artifacts.
	Limits artifacts.Options
	// Logger receives warnings (nil: discarded).
	Logger *slog.Logger
	// Now is the clock for events whose time the run does not give (tests
	// set it). Default time.Now.
	Now func() time.Time
}

// Exporter turns runs into events and hands them to a Sink.
type Exporter struct {
	cfg  Config
	sink Sink
}

// New returns an exporter writing to sink.
func New(cfg Config, sink Sink) (*Exporter, error) {
	if sink == nil {
		return nil, errors.New("lineage: no sink")
	}
	if cfg.Producer == "" {
		cfg.Producer = DefaultProducer
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Exporter{cfg: cfg, sink: sink}, nil
}

// Export sends all the events of a run and its commands, as one block.
// Errors of single commands (unreadable artifacts) do not stop the others;
// all are joined into the returned error, with a *DeliveryError when the
// sink could not deliver some events.
func (e *Exporter) Export(ctx context.Context, run Run, cmds []Command) error {
	rx, err := e.Begin(ctx, run)
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range cmds {
		if err := rx.Command(ctx, c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(append(errs, rx.End(ctx))...)
}

// RunExport is one run's events in progress: Begin sent the run's START;
// Command sends a command's events; End sends the run's COMPLETE or FAIL
// and delivers the block. Not safe for concurrent use.
type RunExport struct {
	e        *Exporter
	run      Run
	ns       string
	runID    string
	block    Block
	buf      bytes.Buffer
	enc      *json.Encoder
	sent     int
	ended    bool
	jobFacet *JobFacets
}

// Begin opens a block in the sink and sends the run's START.
func (e *Exporter) Begin(ctx context.Context, run Run) (*RunExport, error) {
	ns := e.cfg.Namespace
	if ns == "" {
		ns = "paradime://" + run.Workspace
	}
	block, err := e.sink.Open(ctx)
	if err != nil {
		return nil, err
	}
	rx := &RunExport{e: e, run: run, ns: ns, runID: RunID(ns, run.ID, "", ""), block: block}
	rx.enc = json.NewEncoder(&rx.buf)
	rx.enc.SetEscapeHTML(false)
	rx.jobFacet = &JobFacets{JobType: &JobTypeFacet{BaseFacet: e.base(jobTypeFacetURL), ProcessingType: "BATCH", Integration: "PARADIME_BOLT", JobType: "JOB"}}
	ev := e.event("START", e.at(run.Start, run.End), rx.runID, ns, run.ScheduleName)
	ev.Run.Facets = &RunFacets{BoltRun: rx.boltRunFacet()}
	ev.Job.Facets = rx.jobFacet
	if err := rx.send(ctx, ev); err != nil {
		block.Abort()
		return nil, err
	}
	return rx, nil
}

func (rx *RunExport) boltRunFacet() *BoltRunFacet {
	return &BoltRunFacet{BaseFacet: rx.e.base(customFacetURL), RunID: rx.run.ID, Workspace: rx.run.Workspace, Status: rx.run.Status, URL: rx.run.URL}
}

// Sent is the number of events handed to the sink so far.
func (rx *RunExport) Sent() int { return rx.sent }

// End sends the run's COMPLETE (FAIL when Bolt's status is not a success)
// and delivers the block: its error is a *DeliveryError naming the events
// the sink could not deliver.
func (rx *RunExport) End(ctx context.Context) error {
	if rx.ended {
		return nil
	}
	rx.ended = true
	typ, msg := "COMPLETE", ""
	if !succeeded(rx.run.Status) {
		typ, msg = "FAIL", fmt.Sprintf("Bolt run %s ended with status %q", rx.run.ID, rx.run.Status)
	}
	ev := rx.e.event(typ, rx.e.at(rx.run.End, rx.run.Start), rx.runID, rx.ns, rx.run.ScheduleName)
	ev.Run.Facets = &RunFacets{BoltRun: rx.boltRunFacet()}
	if msg != "" {
		ev.Run.Facets.ErrorMessage = rx.e.errorFacet(msg, "SHELL")
	}
	ev.Job.Facets = rx.jobFacet
	if err := rx.send(ctx, ev); err != nil {
		rx.block.Abort()
		return err
	}
	return rx.block.Close(ctx)
}

// Abort discards the block, if End was not called.
func (rx *RunExport) Abort() {
	if !rx.ended {
		rx.ended = true
		rx.block.Abort()
	}
}

// succeeded reports whether Bolt's status means success. An empty status
// (unknown) counts as one: FAIL is sent only on a stated failure.
func succeeded(status string) bool {
	switch strings.ToLower(status) {
	case "", "succeeded", "success", "completed", "complete", "ok", "passed", "skipped":
		return true
	}
	return false
}

// Command sends one command's START, the events of its dbt nodes when it
// has artifacts, then its COMPLETE or FAIL. The command's own events are
// sent even when its artifacts cannot be read; that error is returned.
func (rx *RunExport) Command(ctx context.Context, c Command) error {
	e := rx.e
	cmdJob := rx.run.ScheduleName + "." + c.ID
	cmdRunID := RunID(rx.ns, rx.run.ID, c.ID, "")
	parent := &ParentFacet{
		BaseFacet: e.base(parentFacetURL),
		Run:       ParentRun{RunID: rx.runID},
		Job:       ParentJob{Namespace: rx.ns, Name: rx.run.ScheduleName},
		Root:      &ParentRef{Run: ParentRun{RunID: rx.runID}, Job: ParentJob{Namespace: rx.ns, Name: rx.run.ScheduleName}},
	}
	jobFacets := &JobFacets{
		JobType: &JobTypeFacet{BaseFacet: e.base(jobTypeFacetURL), ProcessingType: "BATCH", Integration: "PARADIME_BOLT", JobType: "COMMAND"},
		Command: &CommandFacet{BaseFacet: e.base(customFacetURL), Command: c.Command, CommandID: c.ID, ReturnCode: c.ReturnCode},
	}
	start := e.at(c.Start, rx.run.Start, c.End)
	ev := e.event("START", start, cmdRunID, rx.ns, cmdJob)
	ev.Run.Facets = &RunFacets{Parent: parent}
	ev.Job.Facets = jobFacets
	if err := rx.send(ctx, ev); err != nil {
		return err
	}
	var nodeErr error
	if c.Manifest != nil && c.RunResults != nil {
		nodeErr = rx.nodes(ctx, c, cmdJob, cmdRunID)
		if ctx.Err() != nil {
			return errors.Join(nodeErr, ctx.Err())
		}
	}
	typ := "COMPLETE"
	var facets = &RunFacets{Parent: parent}
	if !succeeded(c.Status) {
		typ = "FAIL"
		msg := Clip(firstNonEmpty(strings.TrimSpace(c.StderrTail), strings.TrimSpace(c.StdoutTail)), MaxErrorMessage)
		if msg == "" {
			msg = fmt.Sprintf("command %s ended with status %q", c.ID, c.Status)
		}
		facets.ErrorMessage = e.errorFacet(msg, "SHELL")
	}
	ev = e.event(typ, e.at(c.End, c.Start, rx.run.End), cmdRunID, rx.ns, cmdJob)
	ev.Run.Facets = facets
	ev.Job.Facets = jobFacets
	if err := rx.send(ctx, ev); err != nil {
		return errors.Join(nodeErr, err)
	}
	return nodeErr
}

// send encodes one event and hands it to the block.
func (rx *RunExport) send(ctx context.Context, ev *Event) error {
	rx.buf.Reset()
	if err := rx.enc.Encode(ev); err != nil {
		return fmt.Errorf("lineage: encode an event: %w", err)
	}
	line := bytes.TrimSuffix(rx.buf.Bytes(), []byte("\n"))
	rx.sent++
	return rx.block.Add(ctx, EventRef{RunID: ev.Run.RunID, Job: ev.Job.Name, Type: ev.EventType}, line)
}

func (e *Exporter) base(url string) BaseFacet {
	return BaseFacet{Producer: e.cfg.Producer, SchemaURL: url}
}

func (e *Exporter) errorFacet(msg, lang string) *ErrorMessageFacet {
	return &ErrorMessageFacet{BaseFacet: e.base(errorFacetURL), Message: Clip(msg, MaxErrorMessage), ProgrammingLanguage: lang}
}

func (e *Exporter) event(typ string, at time.Time, runID, ns, job string) *Event {
	return &Event{
		EventTime: at.UTC().Format(time.RFC3339Nano),
		EventType: typ,
		Producer:  e.cfg.Producer,
		SchemaURL: specURL,
		Run:       EventRun{RunID: runID},
		Job:       EventJob{Namespace: ns, Name: job},
		Inputs:    []Dataset{},
		Outputs:   []Dataset{},
	}
}

// at returns the first non-zero time, else the clock's.
func (e *Exporter) at(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return e.cfg.Now()
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// Clip returns the last max bytes of s, cut at a rune boundary and marked
// with a leading "…" when cut.
func Clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	const mark = "…"
	s = s[len(s)-(max-len(mark)):]
	for len(s) > 0 && !utf8.RuneStart(s[0]) {
		s = s[1:]
	}
	return mark + s
}

// clipHead returns the first max bytes of s, cut at a rune boundary and
// marked with a trailing "…" when cut: for dbt's messages, whose head says
// what failed.
func clipHead(s string, max int) string {
	if len(s) <= max {
		return s
	}
	const mark = "…"
	s = s[:max-len(mark)]
	for len(s) > 0 && !utf8.RuneStart(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	if len(s) > 0 && utf8.RuneStart(s[len(s)-1]) && !utf8.FullRuneInString(s[len(s)-1:]) {
		s = s[:len(s)-1]
	}
	return s + mark
}

// Tail reads r to its end and returns its last max bytes (see Clip),
// holding no more than twice max at once.
func Tail(r io.Reader, max int) (string, error) {
	buf := make([]byte, 0, 2*max)
	chunk := make([]byte, 32<<10)
	cut := false
	for {
		n, err := r.Read(chunk)
		for p := chunk[:n]; len(p) > 0; {
			room := cap(buf) - len(buf)
			if room == 0 {
				copy(buf, buf[len(buf)-max:])
				buf = buf[:max]
				cut = true
				room = cap(buf) - len(buf)
			}
			k := min(room, len(p))
			buf = append(buf, p[:k]...)
			p = p[k:]
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
	}
	s := string(buf)
	if cut && len(s) <= max {
		s = "…" + s
	}
	return Clip(s, max), nil
}

// ParseTime reads the times of reports and payloads (RFC 3339, with or
// without a zone); zero when empty or unreadable.
func ParseTime(s string) time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
