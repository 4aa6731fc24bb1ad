package lineage

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/boltfetch/boltfetch/artifacts"
)

// nodeClass is what an event says of a dbt status.
func nodeClass(status string) string {
	switch strings.ToLower(status) {
	case "error", "fail", "runtime error", "partial success":
		return "FAIL"
	case "skipped":
		return "ABORT"
	}
	return "COMPLETE"
}

// causes is what the events of skipped nodes need of the analysis: each
// skipped node's causes, and each failure's first message line.
type causes struct {
	causedBy map[string][]string
	failure  map[string]string
}

func causesOf(a *artifacts.Analysis) causes {
	c := causes{causedBy: map[string][]string{}, failure: map[string]string{}}
	for _, n := range a.Skipped {
		c.causedBy[n.UniqueID] = n.CausedBy
	}
	for _, n := range a.Failed {
		c.failure[n.UniqueID] = firstLine(n.Message)
	}
	return c
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	return s
}

// skipMessage names the upstream failures that caused a skip.
func (c causes) skipMessage(id string) string {
	list := c.causedBy[id]
	if len(list) == 0 {
		return "skipped by dbt; no failure upstream in this invocation explains the skip"
	}
	var b strings.Builder
	b.WriteString("skipped because of upstream failure")
	if len(list) > 1 {
		b.WriteString("s")
	}
	b.WriteString(": ")
	for i, f := range list {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f)
		if m := c.failure[f]; m != "" {
			b.WriteString(" (")
			b.WriteString(m)
			b.WriteString(")")
		}
		if b.Len() > MaxErrorMessage {
			fmt.Fprintf(&b, "; and %d more", len(list)-i-1)
			break
		}
	}
	s := b.String()
	if len(s) > MaxErrorMessage {
		// Keep the head: it names the first causes.
		s = s[:MaxErrorMessage-len("…")] + "…"
	}
	return strings.ToValidUTF8(s, "")
}

// nodes sends the events of a command's executed dbt nodes.
func (rx *RunExport) nodes(ctx context.Context, c Command, cmdJob, cmdRunID string) error {
	e := rx.e
	a := c.Analysis
	if a == nil {
		var err error
		if a, err = analyze(ctx, c, e.cfg.Limits); err != nil {
			return fmt.Errorf("lineage: command %s: %w", c.ID, err)
		}
	}
	why := causesOf(a)
	set, err := artifacts.ScanNodes(ctx, c.Manifest, c.RunResults, e.cfg.Limits)
	if err != nil {
		return fmt.Errorf("lineage: command %s: %w", c.ID, err)
	}
	for _, w := range set.Warnings {
		e.cfg.Logger.Warn("lineage: "+w, "command", c.ID)
	}
	inv := set.Invocation
	dsNS := e.cfg.DatasetNamespace
	if dsNS == "" {
		dsNS = DatasetNamespace(inv.AdapterType)
	}
	parent := &ParentFacet{
		BaseFacet: e.base(parentFacetURL),
		Run:       ParentRun{RunID: cmdRunID},
		Job:       ParentJob{Namespace: rx.ns, Name: cmdJob},
		Root:      &ParentRef{Run: ParentRun{RunID: rx.runID}, Job: ParentJob{Namespace: rx.ns, Name: rx.run.ScheduleName}},
	}
	var engine *ProcessingEngineFacet
	if inv.DbtVersion != "" {
		engine = &ProcessingEngineFacet{BaseFacet: e.base(engineFacetURL), Version: inv.DbtVersion, Name: "dbt", OpenlineageAdapterVersion: e.cfg.Version}
	}
	generated := parseGenerated(inv.GeneratedAt)
	err = set.Each(ctx, func(n *artifacts.ExecutedNode) error {
		runID := RunID(rx.ns, rx.run.ID, c.ID, n.UniqueID)
		job := nodeJobName(n)
		class := nodeClass(n.Status)
		jt := &JobTypeFacet{BaseFacet: e.base(jobTypeFacetURL), ProcessingType: "BATCH", Integration: "DBT", JobType: jobType(n.ResourceType)}
		var sql *SQLFacet
		if n.Code != "" {
			sql = &SQLFacet{BaseFacet: e.base(sqlFacetURL), Query: n.Code, Dialect: dialect(inv.AdapterType)}
		}
		node := &DbtNodeFacet{BaseFacet: e.base(customFacetURL), UniqueID: n.UniqueID, Status: n.Status, InvocationID: inv.InvocationID, ExecutionTime: n.ExecutionTime, Failures: n.Failures}
		inputs := make([]Dataset, 0, len(n.Inputs)+1)
		seen := map[string]bool{}
		for _, r := range n.Inputs {
			name := datasetName(r)
			if name == "" || seen[name] {
				continue
			}
			seen[name] = true
			inputs = append(inputs, Dataset{Namespace: dsNS, Name: name})
		}
		outputs := []Dataset{}
		if n.Output != nil {
			if name := datasetName(*n.Output); name != "" {
				outputs = append(outputs, Dataset{Namespace: dsNS, Name: name})
			}
		}
		end := e.at(n.CompletedAt, addSeconds(n.StartedAt, n.ExecutionTime), c.End, generated, rx.run.End)
		if class == "ABORT" {
			node.CausedBy = why.causedBy[n.UniqueID]
			ev := e.event("ABORT", end, runID, rx.ns, job)
			ev.Run.Facets = &RunFacets{Parent: parent, ErrorMessage: e.errorFacet(why.skipMessage(n.UniqueID), "SQL"), ProcessingEngine: engine, DbtNode: node}
			ev.Job.Facets = &JobFacets{JobType: jt, SQL: sql}
			ev.Inputs, ev.Outputs = inputs, outputs
			return rx.send(ctx, ev)
		}
		start := e.at(n.StartedAt, c.Start, generated, rx.run.Start)
		if end.Before(start) {
			end = start
		}
		ev := e.event("START", start, runID, rx.ns, job)
		ev.Run.Facets = &RunFacets{Parent: parent, ProcessingEngine: engine}
		ev.Job.Facets = &JobFacets{JobType: jt, SQL: sql}
		ev.Inputs, ev.Outputs = inputs, outputs
		if err := rx.send(ctx, ev); err != nil {
			return err
		}
		ev = e.event(class, end, runID, rx.ns, job)
		ev.Run.Facets = &RunFacets{Parent: parent, ProcessingEngine: engine, DbtNode: node}
		if class == "FAIL" {
			msg := strings.TrimSpace(n.Message)
			if msg == "" {
				msg = fmt.Sprintf("dbt status %q", n.Status)
			}
			ev.Run.Facets.ErrorMessage = e.errorFacet(clipHead(msg, MaxErrorMessage), "SQL")
		}
		ev.Job.Facets = &JobFacets{JobType: jt}
		ev.Inputs, ev.Outputs = withAssertion(e, n, inputs, dsNS), outputs
		return rx.send(ctx, ev)
	})
	if err != nil {
		return fmt.Errorf("lineage: command %s: %w", c.ID, err)
	}
	return nil
}

// withAssertion attaches a test's outcome to the dataset it tests, adding
// that dataset to the inputs when it is not among them.
func withAssertion(e *Exporter, n *artifacts.ExecutedNode, inputs []Dataset, dsNS string) []Dataset {
	if n.ResourceType != "test" && n.ResourceType != "unit_test" || n.TestedRelation == nil {
		return inputs
	}
	name := datasetName(*n.TestedRelation)
	if name == "" {
		return inputs
	}
	st := strings.ToLower(n.Status)
	as := Assertion{
		Assertion: firstNonEmpty(n.TestName, n.ResourceType, "test"),
		Success:   st == "pass" || st == "success",
		Column:    n.ColumnName,
		Severity:  strings.ToLower(n.Severity),
		Name:      n.Name,
	}
	if n.ResourceType == "unit_test" {
		as.Assertion = "unit_test"
	}
	facet := &InputDatasetFacets{DataQualityAssertions: &AssertionsFacet{BaseFacet: e.base(assertionFacetURL), Assertions: []Assertion{as}}}
	out := make([]Dataset, 0, len(inputs)+1)
	found := false
	for _, d := range inputs {
		if d.Name == name && d.Namespace == dsNS {
			d.InputFacets = facet
			found = true
		}
		out = append(out, d)
	}
	if !found {
		out = append(out, Dataset{Namespace: dsNS, Name: name, InputFacets: facet})
	}
	return out
}

func addSeconds(t time.Time, s float64) time.Time {
	if t.IsZero() || s <= 0 {
		return time.Time{}
	}
	return t.Add(time.Duration(s * float64(time.Second)))
}

func parseGenerated(s string) time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// analyze analyses a command's artifacts, for the causes of its skips.
func analyze(ctx context.Context, c Command, limits artifacts.Options) (*artifacts.Analysis, error) {
	mr, err := c.Manifest(ctx)
	if err != nil {
		return nil, fmt.Errorf("open the manifest: %w", err)
	}
	defer mr.Close()
	rr, err := c.RunResults(ctx)
	if err != nil {
		return nil, fmt.Errorf("open run_results: %w", err)
	}
	defer rr.Close()
	return artifacts.Analyze(ctx, mr, rr, limits)
}
