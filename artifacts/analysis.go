package artifacts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
)

// Node is one reported node: a failed, warned or skipped result joined with
// its manifest entry. Fields the artifacts do not hold are empty.
type Node struct {
	UniqueID     string `json:"unique_id"`
	ResourceType string `json:"resource_type"`
	Name         string `json:"name"`
	PackageName  string `json:"package_name"`
	Status       string `json:"status"`
	// RawStatus is the status text of a pre-0.19 result ("ERROR", "CREATE
	// VIEW", null) when it differs from the derived Status.
	RawStatus string `json:"raw_status,omitzero"`
	// Message is the result's message, "" when null. An int message (dbt
	// 0.19 tests) is given as its decimal text.
	Message string `json:"message"`
	// Failures is the failing row count of a test, null when absent.
	Failures *int64 `json:"failures"`
	// FailuresText holds a non-numeric "failures" string of hand-edited files.
	FailuresText     string  `json:"failures_text,omitzero"`
	ExecutionTime    float64 `json:"execution_time"`
	OriginalFilePath string  `json:"original_file_path"`
	RelationName     string  `json:"relation_name,omitzero"`
	Database         string  `json:"database,omitzero"`
	Schema           string  `json:"schema,omitzero"`
	Alias            string  `json:"alias,omitzero"`
	// CompiledCode is compiled_code (compiled_sql before dbt 1.3), from the
	// manifest or else from run_results, on failed and warned nodes only (a
	// skipped node never ran it), and at most [MaxCompiledCodeBytes] of it,
	// cut on a character boundary; CompiledCodeTruncated is then true.
	CompiledCode          string `json:"compiled_code,omitzero"`
	CompiledCodeTruncated bool   `json:"compiled_code_truncated,omitzero"`
	// CompiledPath is the node's compiled_path in the manifest: where dbt
	// wrote the whole compiled code (under target/), on every reported node.
	CompiledPath string   `json:"compiled_path,omitzero"`
	DependsOn    []string `json:"depends_on"`
	Tags         []string `json:"tags"`
	// Owner is meta.owner, else config.meta.owner.
	Owner string `json:"owner,omitzero"`
	// Tests only.
	AttachedNode string `json:"attached_node,omitzero"`
	ColumnName   string `json:"column_name,omitzero"`
	TestName     string `json:"test_name,omitzero"`
	Severity     string `json:"severity,omitzero"`
	// InManifest is false for a result with no manifest entry, reported from
	// what run_results holds.
	InManifest bool `json:"in_manifest"`
	// CausedBy, on skipped nodes only, lists the failing nodes upstream whose
	// failure explains the skip, sorted. Empty (not null) when none does, as
	// when dbt Fusion skips unchanged nodes. It holds at most [MaxCausedBy]
	// ids, the first in sort order; CausedByCount is the number of all of
	// them, so len(CausedBy) < CausedByCount says the list was cut.
	CausedBy      []string `json:"caused_by,omitzero"`
	CausedByCount int      `json:"caused_by_count,omitzero"`
}

// Bounds of the analysis that keep its output and memory linear in its
// input (see "Growth" in the package doc).
const (
	// AnalysisVersion is the value of Analysis.Version. Version 1 had no
	// version key; version 2 dropped compiled_code from skipped nodes,
	// bounded it on the others and capped caused_by. From version 2 on, keys
	// are only ever added.
	AnalysisVersion = 2
	// MaxCompiledCodeBytes bounds Node.CompiledCode.
	MaxCompiledCodeBytes = 4 << 10
	// MaxCausedBy bounds the length of Node.CausedBy.
	MaxCausedBy = 20
)

// OversizedValue is a manifest value the analysis skipped without holding it
// because it is longer than [Options.MaxNodeBytes]: a node (its details and
// edges are then missing), a parent_map entry (its parents then come from
// depends_on) or the metadata. Callers word the fix for their own settings.
type OversizedValue struct {
	// What is "node", "parent_map entry" or "metadata".
	What string `json:"what"`
	// ID is the node's unique_id ("" for the metadata).
	ID string `json:"id,omitzero"`
	// Offset is the value's byte offset in the manifest, Size its length.
	Offset int64 `json:"offset"`
	Size   int64 `json:"size"`
	// Limit is the Options.MaxNodeBytes in force.
	Limit int64 `json:"limit"`
}

// Analysis is the outcome of one dbt invocation as its two artifacts tell it.
// Its JSON form is the contract shared by `boltfetch analyze --format json`
// and the fetcher's report.
type Analysis struct {
	// Version is the version of this JSON form, [AnalysisVersion]; absent
	// (0) in version 1 reports.
	Version int `json:"analysis_version"`
	// DbtVersion and InvocationID come from run_results, else the manifest.
	DbtVersion             string `json:"dbt_version"`
	InvocationID           string `json:"invocation_id"`
	ManifestInvocationID   string `json:"manifest_invocation_id"`
	RunResultsInvocationID string `json:"run_results_invocation_id"`
	ManifestDbtVersion     string `json:"manifest_dbt_version"`
	RunResultsDbtVersion   string `json:"run_results_dbt_version"`
	// Schema versions as the headers state them ("v12", "v6"), "" when the
	// file has no header (dbt before 0.19).
	ManifestSchemaVersion   string `json:"manifest_schema_version"`
	RunResultsSchemaVersion string `json:"run_results_schema_version"`
	// RunResultsShape is the shape detected from the fields present: "flat"
	// (dbt ≥0.19) or "embedded-node" (results embed their node: dbt ≤0.18
	// and 0.19.0a1, whatever the header says).
	RunResultsShape string `json:"run_results_shape"`
	// SameInvocation is true when both artifacts carry the same, non-empty
	// invocation_id.
	SameInvocation bool    `json:"same_invocation"`
	GeneratedAt    string  `json:"generated_at,omitzero"`
	ElapsedTime    float64 `json:"elapsed_time"`
	// Total is the number of results; Counts the number per status, with
	// unknown statuses kept as they are.
	Total    int            `json:"total"`
	Counts   map[string]int `json:"counts"`
	Failed   []Node         `json:"failed"`
	Warned   []Node         `json:"warned"`
	Skipped  []Node         `json:"skipped"`
	Warnings []string       `json:"warnings"`
	// DuplicateResults is the number of results run_results lists again
	// under a unique_id it already listed: each node is counted and reported
	// once, from its first result, and Warnings says so.
	DuplicateResults int `json:"duplicate_results,omitzero"`
	// Oversized lists the manifest values skipped for their size, which
	// Warnings also describes.
	Oversized []OversizedValue `json:"oversized,omitzero"`
}

// AnalyzeFiles opens and analyses the two files. Errors are *ParseError
// naming the file and the byte offset.
func AnalyzeFiles(ctx context.Context, manifestPath, runResultsPath string, opts Options) (*Analysis, error) {
	opts.ManifestName, opts.RunResultsName = manifestPath, runResultsPath
	opts = opts.withDefaults()
	mf, err := openChecked(manifestPath, opts.MaxManifestBytes, LimitManifest)
	if err != nil {
		return nil, err
	}
	defer mf.Close()
	rf, err := openChecked(runResultsPath, opts.MaxRunResultsBytes, LimitRunResults)
	if err != nil {
		return nil, err
	}
	defer rf.Close()
	return Analyze(ctx, mf, rf, opts)
}

func openChecked(path string, limit int64, which string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &ParseError{File: path, Err: err}
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, &ParseError{File: path, Err: err}
	}
	if fi.IsDir() {
		f.Close()
		return nil, &ParseError{File: path, Err: errors.New("is a directory, not a file")}
	}
	if fi.Mode().IsRegular() && fi.Size() > limit {
		f.Close()
		return nil, &ParseError{File: path, Offset: limit, Err: &LimitError{Limit: which, Max: limit, Size: fi.Size()}}
	}
	return f, nil
}

// Analyze reads the two artifacts in parallel, streaming, and returns the
// analysis. Errors are *ParseError naming the file and the byte offset; when
// both files are bad, both errors are joined.
//
// Both readers are read at once, so the caller must be able to feed them at
// once: a manifest reader that cannot be read again at an offset (a pipe,
// not a file) holds at most opts.MaxPendingBytes of nodes while run_results
// has not been read to its end, and then waits for it.
func Analyze(ctx context.Context, manifest, runResultsR io.Reader, opts Options) (*Analysis, error) {
	opts = opts.withDefaults()
	set := newReportedSet()
	var (
		wg           sync.WaitGroup
		rr           *runResults
		m            *manifestData
		rrErr, mnErr error
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer close(set.done)
		rr, rrErr = readRunResults(ctx, runResultsR, opts.RunResultsName, opts.MaxRunResultsBytes, set)
	}()
	go func() {
		defer wg.Done()
		m, mnErr = readManifest(ctx, manifest, opts.ManifestName, opts, set)
	}()
	wg.Wait()
	if err := errors.Join(mnErr, rrErr); err != nil {
		return nil, err
	}
	m.resolvePending(set)
	return build(m, rr, set), nil
}

// build joins the reported results with the manifest and computes causes.
func build(m *manifestData, rr *runResults, set *reportedSet) *Analysis {
	a := &Analysis{
		Version:                 AnalysisVersion,
		DuplicateResults:        rr.dups,
		Oversized:               m.oversized,
		ManifestInvocationID:    m.meta.InvocationID,
		RunResultsInvocationID:  rr.meta.InvocationID,
		ManifestDbtVersion:      m.meta.DbtVersion,
		RunResultsDbtVersion:    rr.meta.DbtVersion,
		ManifestSchemaVersion:   schemaVersion(m.meta.SchemaURL),
		RunResultsSchemaVersion: schemaVersion(rr.meta.SchemaURL),
		RunResultsShape:         rr.shape,
		GeneratedAt:             firstNonEmpty(rr.meta.GeneratedAt, m.meta.GeneratedAt),
		ElapsedTime:             rr.elapsed,
		Total:                   rr.total,
		Counts:                  rr.counts,
		Failed:                  []Node{},
		Warned:                  []Node{},
		Skipped:                 []Node{},
		Warnings:                []string{},
	}
	a.DbtVersion = firstNonEmpty(rr.meta.DbtVersion, m.meta.DbtVersion)
	a.InvocationID = firstNonEmpty(rr.meta.InvocationID, m.meta.InvocationID)
	a.SameInvocation = rr.meta.InvocationID != "" && rr.meta.InvocationID == m.meta.InvocationID
	switch {
	case rr.meta.InvocationID == "" || m.meta.InvocationID == "":
		a.Warnings = append(a.Warnings, "cannot tell whether the manifest and run_results come from the same dbt invocation (an invocation_id is missing); causes of skips are computed from this manifest's graph")
	case !a.SameInvocation:
		a.Warnings = append(a.Warnings, fmt.Sprintf("the manifest (invocation %s) and run_results (invocation %s) come from different dbt invocations; details and causes of skips are taken from this manifest and may not match the run", m.meta.InvocationID, rr.meta.InvocationID))
	}
	if a.ManifestDbtVersion != "" && a.RunResultsDbtVersion != "" && a.ManifestDbtVersion != a.RunResultsDbtVersion {
		a.Warnings = append(a.Warnings, fmt.Sprintf("dbt versions differ: manifest %s, run_results %s", a.ManifestDbtVersion, a.RunResultsDbtVersion))
	}
	if rr.shape == "embedded-node" && a.RunResultsSchemaVersion != "" {
		a.Warnings = append(a.Warnings, fmt.Sprintf("run_results header says %s but its results embed their node, as before dbt 0.19: read as the older shape", a.RunResultsSchemaVersion))
	}
	a.Warnings = append(a.Warnings, m.warnings...)
	if rr.dups > 0 {
		a.Warnings = append(a.Warnings, fmt.Sprintf("run_results lists %d result(s) under a unique_id it already listed (the first: %s): each node is counted and reported once, from its first result", rr.dups, rr.firstDup))
	}
	if a.Counts == nil {
		a.Counts = map[string]int{}
	}

	g := m.g
	// Results absent from the manifest but embedding their node (pre-0.19)
	// bring their own edges.
	for _, r := range rr.reported {
		if r.Embedded == nil {
			continue
		}
		idx := g.intern([]byte(r.UniqueID))
		if !g.defined[idx] && len(g.parents(idx)) == 0 {
			g.setEdges(idx, r.Embedded)
		}
	}
	causes := computeCauses(g, rr.reported)

	// Sized once: the node lists are the bulk of a big analysis.
	var sizes [4]int
	for _, r := range rr.reported {
		sizes[classOf(r.Status)]++
	}
	a.Failed = make([]Node, 0, sizes[classFailed])
	a.Warned = make([]Node, 0, sizes[classWarned])
	a.Skipped = make([]Node, 0, sizes[classSkipped])
	missing := 0
	for _, r := range rr.reported {
		n := makeNode(m, set, r)
		if !n.InManifest {
			missing++
		}
		switch classOf(r.Status) {
		case classFailed:
			a.Failed = append(a.Failed, n)
		case classWarned:
			a.Warned = append(a.Warned, n)
		case classSkipped:
			if c := causes[r.UniqueID]; c != nil {
				n.CausedBy, n.CausedByCount = c.ids, c.count
			} else {
				n.CausedBy = []string{}
			}
			a.Skipped = append(a.Skipped, n)
		}
	}
	if missing > 0 {
		a.Warnings = append(a.Warnings, fmt.Sprintf("%d reported result(s) have no manifest entry: reported from run_results alone", missing))
	}
	return a
}

func makeNode(m *manifestData, set *reportedSet, r result) Node {
	n := Node{
		UniqueID:      r.UniqueID,
		Status:        r.Status,
		RawStatus:     r.RawStatus,
		Message:       r.Message,
		Failures:      r.Failures,
		FailuresText:  r.FailuresText,
		ExecutionTime: r.ExecutionTime,
		RelationName:  r.RelationName,
		CompiledCode:  r.CompiledCode,
		// A result's code is already bounded (readResult).
		CompiledCodeTruncated: r.CompiledCodeTruncated,
	}
	d := m.details[set.hash(r.UniqueID)]
	if idx, ok := m.g.lookup(r.UniqueID); ok && m.g.defined[idx] {
		n.InManifest = true
	}
	if d == nil {
		d = r.Embedded
	}
	if d != nil {
		n.ResourceType = d.ResourceType
		n.Name = d.Name
		n.PackageName = d.PackageName
		n.OriginalFilePath = d.OriginalFilePath
		n.RelationName = firstNonEmpty(d.RelationName, n.RelationName)
		n.Database, n.Schema, n.Alias = d.Database, d.Schema, d.Alias
		if d.CompiledCode != "" {
			n.CompiledCode, n.CompiledCodeTruncated = d.CompiledCode, d.CompiledCodeTruncated
		}
		n.CompiledPath = d.CompiledPath
		n.DependsOn = d.DependsOn
		n.Tags = d.Tags
		n.Owner = d.Owner
		n.AttachedNode = d.AttachedNode
		n.ColumnName = d.ColumnName
		n.TestName = d.TestName
		n.Severity = d.Severity
	}
	if n.ResourceType == "" {
		// Results without a manifest entry: the id says the type.
		if i := strings.IndexByte(n.UniqueID, '.'); i > 0 {
			n.ResourceType = n.UniqueID[:i]
		}
	}
	if n.Name == "" {
		if i := strings.LastIndexByte(n.UniqueID, '.'); i >= 0 {
			n.Name = n.UniqueID[i+1:]
		}
	}
	if classOf(r.Status) == classSkipped {
		n.CompiledCode, n.CompiledCodeTruncated = "", false
	}
	if n.DependsOn == nil {
		n.DependsOn = []string{}
	}
	if n.Tags == nil {
		n.Tags = []string{}
	}
	return n
}

// causeList is the first MaxCausedBy causes of a skipped node in sort order,
// and the number of all of them.
type causeList struct {
	ids   []string
	count int
}

// add notes one more cause; ids are distinct (failing results are deduped).
func (c *causeList) add(id string) {
	c.count++
	i := sort.SearchStrings(c.ids, id)
	if i >= MaxCausedBy {
		return
	}
	if len(c.ids) < MaxCausedBy {
		c.ids = append(c.ids, "")
	}
	copy(c.ids[i+1:], c.ids[i:])
	c.ids[i] = id
}

// computeCauses returns, for each skipped result, the sorted failing nodes
// whose failure blocks it, at most MaxCausedBy of them with their count:
//   - a failing test blocks everything downstream of the non-test children
//     of the node it tests (attached_node, else its parents), so not that
//     node's other tests;
//   - a failing unit test blocks the model it tests and everything
//     downstream of it (dbt build skips the model);
//   - any other failing node blocks everything downstream of it.
//
// Memory is bounded by MaxCausedBy per skipped node. Time is the sum, over
// failing nodes, of the nodes downstream of each.
func computeCauses(g *graph, reported []result) map[string]*causeList {
	n := len(g.ids)
	// Children in compressed form: one allocation whatever the node count.
	start := make([]int32, n+1)
	for i := range n {
		for _, p := range g.parents(int32(i)) {
			start[p+1]++
		}
	}
	for i := range n {
		start[i+1] += start[i]
	}
	child := make([]int32, start[n])
	fill := append([]int32(nil), start[:n]...)
	for i := range n {
		for _, p := range g.parents(int32(i)) {
			child[fill[p]] = int32(i)
			fill[p]++
		}
	}
	children := func(i int32) []int32 { return child[start[i]:start[i+1]] }

	skipped := make(map[int32]bool)
	failingSeen := make(map[int32]bool)
	var failing []int32
	for _, r := range reported {
		idx, ok := g.lookup(r.UniqueID)
		if !ok {
			continue
		}
		switch classOf(r.Status) {
		case classSkipped:
			skipped[idx] = true
		case classFailed:
			if !failingSeen[idx] { // a cause counts once
				failingSeen[idx] = true
				failing = append(failing, idx)
			}
		}
	}
	causes := map[string]*causeList{}
	if len(skipped) == 0 || len(failing) == 0 {
		return causes
	}
	seen := make([]int32, n) // generation stamps: no clearing between walks
	var queue []int32
	for gen, f := range failing {
		stamp := int32(gen + 1)
		// The graph's ids share big chunks: the analysis keeps its own copy.
		fid := validUTF8(strings.Clone(g.ids[f]))
		queue = queue[:0]
		push := func(i int32) {
			if seen[i] != stamp && i != f {
				seen[i] = stamp
				queue = append(queue, i)
			}
		}
		switch g.kinds[f] {
		case kindTest:
			for _, a := range testedNodes(g, f) {
				for _, c := range children(a) {
					if g.kinds[c] == kindOther {
						push(c)
					}
				}
			}
		case kindUnitTest:
			for _, a := range testedNodes(g, f) {
				push(a)
			}
		default:
			for _, c := range children(f) {
				push(c)
			}
		}
		for k := 0; k < len(queue); k++ {
			i := queue[k]
			if skipped[i] {
				c := causes[g.ids[i]]
				if c == nil {
					c = &causeList{}
					causes[g.ids[i]] = c
				}
				c.add(fid)
			}
			for _, c := range children(i) {
				push(c)
			}
		}
	}
	return causes
}

// testedNodes are the nodes a test tests: its attached node, else its parents.
func testedNodes(g *graph, t int32) []int32 {
	if a := g.attached[t]; a >= 0 {
		return []int32{a}
	}
	return g.parents(t)
}
