package fakebolt

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// schemaSDL is the part of Paradime's Bolt schema the project reads, plus
// mutations that exist only so guard tests can prove none is ever sent.
const schemaSDL = `
schema {
	query: Query
	mutation: Mutation
}

type Query {
	boltCommand(commandId: Int!): BoltCommand
	boltResourceUrl(resourceId: Int!): BoltResourceUrl
	boltRunStatus(runId: Int!): BoltRunStatus
	boltCommandLogs(commandId: Int!, cursor: String): BoltCommandLogs
	listBoltRuns(slug: String, offset: Int!, limit: Int!): ListBoltRuns
}

type Mutation {
	triggerBoltRun(scheduleName: String!, commands: [String!], branch: String): TriggerBoltRun
	cancelBoltRun(runId: Int!): OkResult
	retryBoltRun(runId: Int!): TriggerBoltRun
	deleteBoltSchedule(scheduleName: String!): OkResult
}

type BoltCommand {
	id: Int!
	command: String!
	startDttm: String
	endDttm: String
	stdout: String!
	stderr: String!
	returnCode: Int
	scheduleRunId: Int!
	resources: [BoltResource!]!
}

type BoltResource {
	id: Int!
	path: String!
}

type BoltResourceUrl {
	ok: Boolean!
	url: String
}

type BoltRunStatus {
	ok: Boolean!
	state: String!
	commands: [BoltCommand!]!
}

enum LogStream {
	STDOUT
	STDERR
}

type BoltLogLine {
	stream: LogStream!
	line: String!
}

type BoltCommandLogs {
	ok: Boolean!
	lines: [BoltLogLine!]!
	cursor: String!
	finished: Boolean!
}

type ListBoltRuns {
	ok: Boolean!
	runs: [BoltRun!]!
}

type BoltRun {
	id: Int!
	state: String!
	actor: String
	actorEmail: String
	startDttm: String
	endDttm: String
	parentScheduleRunId: Int
	gitInfo: GitInfo
}

type GitInfo {
	branch: String
	commitHash: String
	pullRequestId: Int
}

type TriggerBoltRun {
	ok: Boolean!
	runId: Int
}

type OkResult {
	ok: Boolean!
}
`

// TimeLayout is how the fake formats timestamps, in GraphQL answers and
// payloads alike: Paradime's webhook format, UTC without a zone.
const TimeLayout = "2006-01-02 15:04:05.000000"

type rootResolver struct{ s *Server }

type gqlResource struct {
	ID   int32
	Path string
}

type gqlCommand struct {
	ID            int32
	Command       string
	StartDttm     *string
	EndDttm       *string
	Stdout        string
	Stderr        string
	ReturnCode    *int32
	ScheduleRunID int32
	Resources     []gqlResource
}

type gqlResourceURL struct {
	OK  bool
	URL *string
}

type gqlRunStatus struct {
	OK       bool
	State    string
	Commands []gqlCommand
}

type gqlLogLine struct {
	Stream string
	Line   string
}

type gqlCommandLogs struct {
	OK       bool
	Lines    []gqlLogLine
	Cursor   string
	Finished bool
}

type gqlListRuns struct {
	OK   bool
	Runs []gqlRun
}

type gqlRun struct {
	ID                  int32
	State               string
	Actor               *string
	ActorEmail          *string
	StartDttm           *string
	EndDttm             *string
	ParentScheduleRunID *int32
	GitInfo             *gqlGitInfo
}

type gqlGitInfo struct {
	Branch        *string
	CommitHash    *string
	PullRequestID *int32
}

type gqlTrigger struct {
	OK    bool
	RunID *int32
}

type gqlOK struct{ OK bool }

func (q *rootResolver) BoltCommand(args struct{ CommandID int32 }) (*gqlCommand, error) {
	ref, ok := q.s.lookupCommand(int64(args.CommandID))
	if !ok {
		return nil, fmt.Errorf("BoltCommand with id %d does not exist", args.CommandID)
	}
	c := toGQLCommand(ref.run, ref.cmd)
	return &c, nil
}

func (q *rootResolver) BoltResourceUrl(ctx context.Context, args struct{ ResourceID int32 }) (*gqlResourceURL, error) {
	ref, ok := q.s.lookupResource(int64(args.ResourceID))
	if !ok {
		return nil, fmt.Errorf("BoltResource with id %d does not exist", args.ResourceID)
	}
	if ref.res.Missing {
		return &gqlResourceURL{OK: false}, nil
	}
	base := requestInfo(ctx).base
	if base == "" {
		base = q.s.URL()
	}
	u := q.s.presign(base, ref.res)
	return &gqlResourceURL{OK: true, URL: &u}, nil
}

func (q *rootResolver) BoltRunStatus(args struct{ RunID int32 }) (*gqlRunStatus, error) {
	run, ok := q.s.lookupRun(int64(args.RunID))
	if !ok {
		return nil, fmt.Errorf("BoltRun with id %d does not exist", args.RunID)
	}
	st := &gqlRunStatus{OK: true, State: runState(run.Status), Commands: make([]gqlCommand, 0, len(run.Commands))}
	for i := range run.Commands {
		st.Commands = append(st.Commands, toGQLCommand(run, &run.Commands[i]))
	}
	return st, nil
}

func (q *rootResolver) BoltCommandLogs(args struct {
	CommandID int32
	Cursor    *string
}) (*gqlCommandLogs, error) {
	ref, ok := q.s.lookupCommand(int64(args.CommandID))
	if !ok {
		return nil, fmt.Errorf("BoltCommand with id %d does not exist", args.CommandID)
	}
	cursor := "0:0"
	if args.Cursor != nil && *args.Cursor != "" {
		cursor = *args.Cursor
	}
	out, errLines := splitLines(ref.cmd.Stdout), splitLines(ref.cmd.Stderr)
	o, e, err := parseCursor(cursor, len(out), len(errLines))
	if err != nil {
		return nil, err
	}
	page := &gqlCommandLogs{OK: true, Lines: []gqlLogLine{}}
	for len(page.Lines) < q.s.opts.LogPageSize && o < len(out) {
		page.Lines = append(page.Lines, gqlLogLine{Stream: "STDOUT", Line: out[o]})
		o++
	}
	for len(page.Lines) < q.s.opts.LogPageSize && e < len(errLines) {
		page.Lines = append(page.Lines, gqlLogLine{Stream: "STDERR", Line: errLines[e]})
		e++
	}
	page.Cursor = strconv.Itoa(o) + ":" + strconv.Itoa(e)
	page.Finished = o == len(out) && e == len(errLines)
	return page, nil
}

func (q *rootResolver) ListBoltRuns(args struct {
	Slug   *string
	Offset int32
	Limit  int32
}) (*gqlListRuns, error) {
	if args.Limit < 1 || args.Limit > 1000 {
		return nil, fmt.Errorf("limit must be between 1 and 1000, got %d", args.Limit)
	}
	if args.Offset < 0 {
		return nil, fmt.Errorf("offset must not be negative, got %d", args.Offset)
	}
	q.s.mu.RLock()
	runs := make([]*Run, 0, len(q.s.runs))
	for _, r := range q.s.runs {
		if args.Slug == nil || *args.Slug == "" || r.ScheduleName == *args.Slug {
			runs = append(runs, r)
		}
	}
	q.s.mu.RUnlock()
	slices.SortFunc(runs, func(a, b *Run) int { return cmp.Compare(b.ID, a.ID) }) // newest first
	res := &gqlListRuns{OK: true, Runs: []gqlRun{}}
	for i := int(args.Offset); i < len(runs) && len(res.Runs) < int(args.Limit); i++ {
		res.Runs = append(res.Runs, toGQLRun(runs[i]))
	}
	return res, nil
}

// The mutations only count themselves: guard tests assert they never run.

func (q *rootResolver) TriggerBoltRun(args struct {
	ScheduleName string
	Commands     *[]string
	Branch       *string
}) *gqlTrigger {
	q.s.rec.mutationsExecuted.Add(1)
	return &gqlTrigger{OK: true}
}

func (q *rootResolver) CancelBoltRun(args struct{ RunID int32 }) *gqlOK {
	q.s.rec.mutationsExecuted.Add(1)
	return &gqlOK{OK: true}
}

func (q *rootResolver) RetryBoltRun(args struct{ RunID int32 }) *gqlTrigger {
	q.s.rec.mutationsExecuted.Add(1)
	return &gqlTrigger{OK: true}
}

func (q *rootResolver) DeleteBoltSchedule(args struct{ ScheduleName string }) *gqlOK {
	q.s.rec.mutationsExecuted.Add(1)
	return &gqlOK{OK: true}
}

func toGQLCommand(run *Run, c *Command) gqlCommand {
	g := gqlCommand{
		ID:            int32(c.ID),
		Command:       c.Command,
		StartDttm:     fmtTime(c.Start),
		EndDttm:       fmtTime(c.End),
		Stdout:        c.Stdout,
		Stderr:        c.Stderr,
		ScheduleRunID: int32(run.ID),
		Resources:     make([]gqlResource, 0, len(c.Resources)),
	}
	if c.LogsOnly {
		g.Stdout, g.Stderr = "", ""
	}
	if !c.End.IsZero() || c.ReturnCode != 0 {
		rc := int32(c.ReturnCode)
		g.ReturnCode = &rc
	}
	for _, r := range c.Resources {
		g.Resources = append(g.Resources, gqlResource{ID: int32(r.ID), Path: r.Path})
	}
	return g
}

func toGQLRun(r *Run) gqlRun {
	g := gqlRun{
		ID:         int32(r.ID),
		State:      runState(r.Status),
		Actor:      strPtr(cmp.Or(r.Actor, "Manual")),
		ActorEmail: optStr(r.ActorEmail),
		StartDttm:  fmtTime(r.Start),
		EndDttm:    fmtTime(r.End),
		GitInfo:    &gqlGitInfo{Branch: optStr(r.Branch), CommitHash: optStr(r.CommitHash)},
	}
	if r.ParentRunID != 0 {
		p := int32(r.ParentRunID)
		g.ParentScheduleRunID = &p
	}
	if r.PullRequestID != 0 {
		p := int32(r.PullRequestID)
		g.GitInfo.PullRequestID = &p
	}
	return g
}

// runState maps a webhook status to boltRunStatus's state.
func runState(status string) string {
	switch strings.ToLower(status) {
	case "succeeded", "success", "passed":
		return "SUCCESS"
	case "failed", "failure":
		return "FAILED"
	case "error", "errored":
		return "ERROR"
	case "running":
		return "RUNNING"
	case "starting", "started", "queued", "":
		return "STARTING"
	case "canceled", "cancelled":
		return "CANCELED"
	case "skipped":
		return "SKIPPED"
	}
	return strings.ToUpper(status)
}

// splitLines splits output into lines, without a trailing empty line.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

func parseCursor(c string, nOut, nErr int) (int, int, error) {
	a, b, ok := strings.Cut(c, ":")
	o, err1 := strconv.Atoi(a)
	e, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || o < 0 || e < 0 || o > nOut || e > nErr {
		return 0, 0, fmt.Errorf("invalid cursor %q", c)
	}
	return o, e, nil
}

func fmtTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(TimeLayout)
	return &s
}

func strPtr(s string) *string { return &s }

func optStr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
