package artifacts

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// This file serves the lineage export: the details of every node a dbt
// invocation executed (not only the reported ones), streamed from the two
// artifacts with bounded memory. See [ScanNodes].

// Opener opens an artifact for reading from its start. ScanNodes and
// NodeSet.Each call it once per pass over the file, so it must give the same
// bytes every time (an archived file, not a download in progress).
type Opener func(ctx context.Context) (io.ReadCloser, error)

// Invocation is what the two artifacts' headers say of the dbt invocation.
type Invocation struct {
	// AdapterType is the manifest's metadata.adapter_type ("postgres",
	// "snowflake", ...), "" before dbt 1.0.
	AdapterType string
	// DbtVersion and InvocationID come from run_results, else the manifest.
	DbtVersion   string
	InvocationID string
	// GeneratedAt is run_results' generated_at, as written.
	GeneratedAt string
	// ElapsedTime is run_results' elapsed_time in seconds.
	ElapsedTime float64
}

// Relation is a table or view a node reads or writes: a model, seed or
// snapshot of the manifest's nodes, or a source.
type Relation struct {
	UniqueID     string
	ResourceType string
	Database     string
	Schema       string
	// Identifier is the node's alias (a source's identifier), else its name.
	Identifier string
}

// ExecutedNode is one result of run_results joined with its manifest entry.
// Fields the artifacts do not hold are empty.
type ExecutedNode struct {
	UniqueID     string
	ResourceType string
	Name         string
	PackageName  string
	// Database, Schema and Alias locate the node's relation (Alias is the
	// alias, else the identifier, else the name).
	Database, Schema, Alias string
	// Code is the compiled code (compiled_code, compiled_sql or
	// injected_sql); when the node was not compiled, its raw code, and
	// CodeCompiled is false.
	Code         string
	CodeCompiled bool
	// Parents come from parent_map, else depends_on.nodes.
	Parents []string
	// Inputs are the parents that are relations (models, seeds, snapshots,
	// sources), in Parents order; a parent whose relation the manifest does
	// not describe is left out.
	Inputs []Relation
	// Output is the node's own relation, for models, seeds and snapshots.
	Output *Relation
	// Tests: the tested node (attached_node, else the single relation
	// parent; for unit tests the model named by "model") and its relation,
	// the column (column_name, else test_metadata.kwargs.column_name), the
	// generic test's name and the configured severity.
	TestedNode     string
	TestedRelation *Relation
	ColumnName     string
	TestName       string
	Severity       string
	// From run_results.
	Status        string
	Message       string
	Failures      *int64
	ExecutionTime float64
	// StartedAt and CompletedAt are the node's execute timing (else its
	// whole timing span); zero when run_results gives none (skipped nodes).
	StartedAt, CompletedAt time.Time
	// InManifest is false for a result the manifest does not describe.
	InManifest bool
}

// NodeSet is the result of the first pass of [ScanNodes]: every executed
// node's identity, result and edges, without its code. Each streams the
// nodes with their code in a second pass over the manifest.
type NodeSet struct {
	// Invocation is what the headers say.
	Invocation Invocation
	// Warnings say what could not be read in full (an oversized node).
	Warnings []string

	opts     Options
	manifest Opener
	strs     map[string]string // interned small strings
	ids      []string          // interned ids
	index    map[string]int32
	results  []execResult
	byID     map[int32]int32     // id → first result with it
	rels     map[int32]*Relation // relations of parents and outputs
	nodeKind map[int32]string    // resource type of non-executed parents
}

// execResult is one result and, after the first manifest pass, its node.
type execResult struct {
	id                     int32
	status, message        string
	failures               *int64
	execTime               float64
	started, completed     time.Time
	inManifest             bool
	resourceType, name     string
	pkg                    string
	db, schema, alias      string
	deps, pmap             []int32
	inPmap                 bool
	attached               int32
	column, testName       string
	severity, model        string
	embeddedCode           string
	embeddedCodeCompiled   bool
	emitted                bool
	relationFromRunResults string
}

// ScanNodes reads run_results once and the manifest once, keeping of every
// executed node its result, location, parents and test target, and of every
// other node only what a parent's relation needs (database, schema,
// identifier), pruned at the end of the pass to the parents of executed
// nodes. No node's code is held: [NodeSet.Each] reads the manifest a second
// time for it. Errors are *ParseError naming the file and the offset.
func ScanNodes(ctx context.Context, manifest, runResults Opener, opts Options) (*NodeSet, error) {
	opts = opts.withDefaults()
	s := &NodeSet{
		opts:     opts,
		manifest: manifest,
		strs:     map[string]string{},
		index:    map[string]int32{},
		byID:     map[int32]int32{},
		rels:     map[int32]*Relation{},
		nodeKind: map[int32]string{},
	}
	if err := s.readRunResults(ctx, runResults); err != nil {
		return nil, err
	}
	if err := s.scanManifest(ctx); err != nil {
		return nil, err
	}
	s.prune()
	return s, nil
}

// Len is the number of results.
func (s *NodeSet) Len() int { return len(s.results) }

func (s *NodeSet) intern(b []byte) int32 {
	if i, ok := s.index[string(b)]; ok {
		return i
	}
	id := string(b)
	i := int32(len(s.ids))
	s.ids = append(s.ids, id)
	s.index[id] = i
	return i
}

func (s *NodeSet) str(b []byte) string {
	if v, ok := s.strs[string(b)]; ok {
		return v
	}
	if len(s.strs) > 1<<16 {
		return string(b) // not a small repeated string: do not keep a set
	}
	v := string(b)
	s.strs[v] = v
	return v
}

// readRunResults streams run_results.json, keeping each result's status,
// message and timing.
func (s *NodeSet) readRunResults(ctx context.Context, open Opener) error {
	r, err := open(ctx)
	if err != nil {
		return &ParseError{File: s.opts.RunResultsName, Err: err}
	}
	defer r.Close()
	sk := newSkimmer(&limitReader{r: r, n: s.opts.MaxRunResultsBytes})
	sk.maxHold = int(s.opts.MaxNodeBytes)
	sawResults := false
	err = topMembers(sk, func(name []byte) error {
		switch string(name) {
		case "metadata":
			v, err := sk.value(true)
			if err != nil {
				return ignoreTooBig(err)
			}
			m := parseHeader(v)
			s.Invocation.DbtVersion, s.Invocation.InvocationID, s.Invocation.GeneratedAt = m.DbtVersion, m.InvocationID, m.GeneratedAt
			return nil
		case "generated_at":
			v, err := sk.value(true)
			if err == nil {
				s.Invocation.GeneratedAt = looseValueString(v)
			}
			return ignoreTooBig(err)
		case "elapsed_time":
			v, err := sk.value(true)
			if err == nil {
				fmt.Sscan(looseValueString(v), &s.Invocation.ElapsedTime)
			}
			return ignoreTooBig(err)
		case "results":
			sawResults = true
			return arrayItems(ctx, sk, func() error {
				v, err := sk.value(true)
				if err != nil {
					if big, ok := err.(*heldTooBig); ok {
						s.Warnings = append(s.Warnings, fmt.Sprintf("a run_results result of %d bytes at byte %d is over the %d bytes a value may hold in memory (Options.MaxNodeBytes) and was skipped", big.size, big.off, big.limit))
						return nil
					}
					return err
				}
				s.addResult(v)
				return nil
			})
		case "nodes", "parent_map", "child_map", "macros", "sources":
			return wrongArtifact("this is a manifest (it has %q), not a run_results; swap the two files?", string(name))
		}
		_, err := sk.value(false)
		return err
	})
	if err == nil && !sawResults {
		err = wrongArtifact("no \"results\" array: this JSON is not a dbt run_results")
	}
	if err != nil {
		return classify(s.opts.RunResultsName, sk.offset(), err)
	}
	return nil
}

// addResult records one result object.
func (s *NodeSet) addResult(v []byte) {
	var (
		res                 = execResult{attached: -1}
		id                  []byte
		statusSeen          bool
		errText             string
		skip, fail, warn    bool
		embedded            []byte
		scratch, idScratch  []byte
		started, completed  string
		xStarted, xComplete string
	)
	rawMembers(v, func(name, val []byte) {
		switch string(name) {
		case "unique_id":
			if u, ok := rawUnquote(val, idScratch); ok {
				id = u
			}
		case "status":
			statusSeen = true
			res.status = s.str([]byte(rawText(val, scratch)))
		case "message":
			res.message = rawText(val, scratch)
		case "error":
			errText = rawText(val, scratch)
		case "skip":
			skip = rawTruthy(val)
		case "fail":
			fail = rawTruthy(val)
		case "warn":
			warn = rawTruthy(val)
		case "failures":
			if n, ok := rawInt(val); ok {
				res.failures = &n
			}
		case "execution_time":
			fmt.Sscan(rawText(val, scratch), &res.execTime)
		case "relation_name":
			res.relationFromRunResults = rawText(val, scratch)
		case "timing":
			rawItems(val, func(item []byte) {
				var step, st, ct string
				rawMembers(item, func(n, x []byte) {
					switch string(n) {
					case "name":
						step = rawText(x, scratch)
					case "started_at":
						st = rawText(x, scratch)
					case "completed_at":
						ct = rawText(x, scratch)
					}
				})
				if started == "" || (st != "" && st < started) {
					started = st
				}
				if ct > completed {
					completed = ct
				}
				if step == "execute" {
					xStarted, xComplete = st, ct
				}
			})
		case "node":
			if len(val) > 0 && val[0] == '{' {
				embedded = val
			}
		}
	})
	if xStarted != "" && xComplete != "" {
		started, completed = xStarted, xComplete
	}
	res.started, res.completed = parseTime(started), parseTime(completed)
	if embedded != nil {
		d := parseDetail(embedded)
		if len(id) == 0 {
			id = []byte(d.UniqueID)
			// Pre-0.19: status is SQL text; the outcome is in the flags.
			switch {
			case errText != "":
				res.status = "error"
			case skip:
				res.status = "skipped"
			case fail:
				res.status = "fail"
			case warn:
				res.status = "warn"
			case d.ResourceType == "test":
				res.status = "pass"
			default:
				res.status = "success"
			}
		}
		res.fromDetail(s, d)
		res.embeddedCode, res.embeddedCodeCompiled = d.CompiledCode, d.CompiledCode != ""
	}
	if res.message == "" {
		res.message = errText
	}
	if !statusSeen && embedded == nil {
		res.status = ""
	}
	if len(id) == 0 {
		return
	}
	res.id = s.intern(id)
	if _, ok := s.byID[res.id]; !ok {
		s.byID[res.id] = int32(len(s.results))
	}
	s.results = append(s.results, res)
}

// fromDetail fills the node's fields from a decoded detail (an embedded
// pre-0.19 node).
func (res *execResult) fromDetail(s *NodeSet, d *detail) {
	res.resourceType = s.str([]byte(d.ResourceType))
	res.name, res.pkg = d.Name, s.str([]byte(d.PackageName))
	res.db, res.schema = s.str([]byte(d.Database)), s.str([]byte(d.Schema))
	res.alias = firstNonEmpty(d.Alias, d.Name)
	for _, p := range d.DependsOn {
		res.deps = append(res.deps, s.intern([]byte(p)))
	}
	if d.AttachedNode != "" {
		res.attached = s.intern([]byte(d.AttachedNode))
	}
	res.column, res.testName, res.severity, res.model = d.ColumnName, d.TestName, d.Severity, d.Model
}

// relationKind reports whether a resource type is a dataset.
func relationKind(rt string) bool {
	switch rt {
	case "model", "seed", "snapshot", "source":
		return true
	}
	return false
}

// typeOfID is the resource type an id starts with ("model.pkg.x" → model).
func typeOfID(id string) string {
	if i := strings.IndexByte(id, '.'); i > 0 {
		return id[:i]
	}
	return ""
}

// scanManifest is the first manifest pass.
func (s *NodeSet) scanManifest(ctx context.Context) error {
	r, err := s.manifest(ctx)
	if err != nil {
		return &ParseError{File: s.opts.ManifestName, Err: err}
	}
	defer r.Close()
	pf := newPrefetchReader(&limitReader{r: r, n: s.opts.MaxManifestBytes})
	defer pf.Close()
	sk := newSkimmer(pf)
	sk.maxHold = int(s.opts.MaxNodeBytes)
	sawNodes := false
	var oversized []string
	err = topMembers(sk, func(name []byte) error {
		switch string(name) {
		case "metadata":
			v, err := sk.value(true)
			if err != nil {
				return ignoreTooBig(err)
			}
			m := parseHeader(v)
			s.Invocation.AdapterType = m.AdapterType
			s.Invocation.DbtVersion = firstNonEmpty(s.Invocation.DbtVersion, m.DbtVersion)
			s.Invocation.InvocationID = firstNonEmpty(s.Invocation.InvocationID, m.InvocationID)
			return nil
		case "nodes", "unit_tests", "sources":
			if string(name) == "nodes" {
				sawNodes = true
			}
			source := string(name) == "sources"
			return objectMembers2(ctx, sk, func(id []byte) error {
				idx, executed := s.index[string(id)]
				var ri int32
				if executed {
					ri, executed = s.byID[idx]
				}
				rt := typeOfID(string(id))
				if !executed && !relationKind(rt) {
					_, err := sk.value(false)
					return err
				}
				v, err := sk.value(true)
				if err != nil {
					if _, ok := err.(*heldTooBig); ok {
						oversized = append(oversized, string(id))
						return nil
					}
					return err
				}
				if executed {
					s.results[ri].fromNode(s, v)
					return nil
				}
				rel := s.relationOf(v, rt, source)
				i := s.intern(id)
				s.rels[i] = rel
				s.nodeKind[i] = rel.ResourceType
				return nil
			})
		case "parent_map":
			return objectMembers2(ctx, sk, func(id []byte) error {
				idx, ok := s.index[string(id)]
				var ri int32
				if ok {
					ri, ok = s.byID[idx]
				}
				if !ok {
					_, err := sk.value(false)
					return err
				}
				v, err := sk.value(true)
				if err != nil {
					return ignoreTooBig(err)
				}
				res := &s.results[ri]
				res.pmap, res.inPmap = res.pmap[:0], true
				rawStrings(v, nil, func(p []byte) {
					if len(p) > 0 {
						res.pmap = append(res.pmap, s.intern(p))
					}
				})
				return nil
			})
		case "results", "elapsed_time":
			return wrongArtifact("this is a run_results (it has %q), not a manifest; swap the two files?", string(name))
		}
		_, err := sk.value(false)
		return err
	})
	if err == nil && !sawNodes {
		err = wrongArtifact("no \"nodes\" object: this JSON is not a dbt manifest")
	}
	if err != nil {
		return classify(s.opts.ManifestName, sk.offset(), err)
	}
	if len(oversized) > 0 {
		s.Warnings = append(s.Warnings, fmt.Sprintf("%d manifest value(s) over the %d bytes one value may hold in memory (Options.MaxNodeBytes) were skipped, so their details are missing: %s", len(oversized), s.opts.MaxNodeBytes, strings.Join(firstN(oversized, 5), ", ")))
	}
	return nil
}

func firstN(list []string, n int) []string {
	if len(list) <= n {
		return list
	}
	return append(list[:n:n], fmt.Sprintf("and %d more", len(list)-n))
}

// relationOf reads a relation from a node or source object.
func (s *NodeSet) relationOf(v []byte, rt string, source bool) *Relation {
	rel := &Relation{ResourceType: s.str([]byte(rt))}
	var name, alias, ident string
	var scratch []byte
	rawMembers(v, func(n, val []byte) {
		switch string(n) {
		case "unique_id":
			rel.UniqueID = rawText(val, scratch)
		case "resource_type":
			if t := rawText(val, scratch); t != "" {
				rel.ResourceType = s.str([]byte(t))
			}
		case "database":
			rel.Database = s.str([]byte(rawText(val, scratch)))
		case "schema":
			rel.Schema = s.str([]byte(rawText(val, scratch)))
		case "name":
			name = rawText(val, scratch)
		case "alias":
			alias = rawText(val, scratch)
		case "identifier":
			ident = rawText(val, scratch)
		}
	})
	if source {
		rel.ResourceType = "source"
	}
	rel.Identifier = firstNonEmpty(alias, ident, name)
	return rel
}

// fromNode fills a result's node fields from its manifest object.
func (res *execResult) fromNode(s *NodeSet, v []byte) {
	res.inManifest = true
	var scratch []byte
	var ident, kwColumn string
	rawMembers(v, func(n, val []byte) {
		switch string(n) {
		case "resource_type":
			res.resourceType = s.str([]byte(rawText(val, scratch)))
		case "name":
			res.name = rawText(val, scratch)
		case "package_name":
			res.pkg = s.str([]byte(rawText(val, scratch)))
		case "database":
			res.db = s.str([]byte(rawText(val, scratch)))
		case "schema":
			res.schema = s.str([]byte(rawText(val, scratch)))
		case "alias":
			res.alias = rawText(val, scratch)
		case "identifier":
			ident = rawText(val, scratch)
		case "depends_on":
			rawMembers(val, func(k, x []byte) {
				if string(k) == "nodes" {
					res.deps = res.deps[:0]
					rawStrings(x, nil, func(p []byte) {
						if len(p) > 0 {
							res.deps = append(res.deps, s.intern(p))
						}
					})
				}
			})
		case "attached_node":
			if a, ok := rawUnquote(val, scratch); ok && len(a) > 0 {
				res.attached = s.intern(a)
			}
		case "column_name":
			res.column = rawText(val, scratch)
		case "test_metadata":
			rawMembers(val, func(k, x []byte) {
				switch string(k) {
				case "name":
					res.testName = s.str([]byte(rawText(x, scratch)))
				case "kwargs":
					rawMembers(x, func(kk, xx []byte) {
						if string(kk) == "column_name" {
							kwColumn = rawText(xx, scratch)
						}
					})
				}
			})
		case "config":
			rawMembers(val, func(k, x []byte) {
				if string(k) == "severity" {
					res.severity = s.str([]byte(rawText(x, scratch)))
				}
			})
		case "model":
			res.model = rawText(val, scratch)
		}
	})
	res.alias = firstNonEmpty(res.alias, ident, res.name)
	res.column = firstNonEmpty(res.column, kwColumn)
}

// parents are parent_map's entry, else depends_on.
func (res *execResult) parents() []int32 {
	if res.inPmap {
		return res.pmap
	}
	return res.deps
}

// kindOf is the resource type of a node by index.
func (s *NodeSet) kindOf(i int32) string {
	if ri, ok := s.byID[i]; ok && s.results[ri].resourceType != "" {
		return s.results[ri].resourceType
	}
	if k, ok := s.nodeKind[i]; ok {
		return k
	}
	return typeOfID(s.ids[i])
}

// tested returns the node a test or unit test tests, or -1.
func (s *NodeSet) tested(res *execResult) int32 {
	if res.attached >= 0 {
		return res.attached
	}
	ps := res.parents()
	if res.model != "" {
		for _, p := range ps {
			if strings.HasSuffix(s.ids[p], "."+res.model) {
				return p
			}
		}
	}
	one := int32(-1)
	for _, p := range ps {
		if relationKind(s.kindOf(p)) {
			if one >= 0 {
				return -1
			}
			one = p
		}
	}
	return one
}

func isTestType(rt string) bool { return rt == "test" || rt == "unit_test" }

// relation returns the relation of node i: its own record if it was
// executed, else the one read in the manifest pass.
func (s *NodeSet) relation(i int32) *Relation {
	if ri, ok := s.byID[i]; ok {
		res := &s.results[ri]
		if res.inManifest && relationKind(res.resourceType) {
			return &Relation{UniqueID: s.ids[i], ResourceType: res.resourceType, Database: res.db, Schema: res.schema, Identifier: res.alias}
		}
	}
	if r, ok := s.rels[i]; ok {
		if r.UniqueID == "" {
			r.UniqueID = s.ids[i]
		}
		return r
	}
	return nil
}

// prune drops the relations no executed node needs.
func (s *NodeSet) prune() {
	need := map[int32]bool{}
	for i := range s.results {
		res := &s.results[i]
		for _, p := range res.parents() {
			need[p] = true
		}
		if isTestType(res.resourceType) || isTestType(typeOfID(s.ids[res.id])) {
			if t := s.tested(res); t >= 0 {
				need[t] = true
			}
		}
	}
	for i := range s.rels {
		if !need[i] {
			delete(s.rels, i)
			delete(s.nodeKind, i)
		}
	}
	s.strs = nil // the pass is over; later strings need not be shared
}

// Each calls fn with every executed node, in manifest order, then those the
// manifest lacks in run_results order. It reads the manifest a second time
// for the nodes' code, holding one node at a time; fn must not keep the
// node past its call. An error of fn stops the walk and is returned as is.
func (s *NodeSet) Each(ctx context.Context, fn func(*ExecutedNode) error) error {
	for i := range s.results {
		s.results[i].emitted = false
	}
	r, err := s.manifest(ctx)
	if err != nil {
		return &ParseError{File: s.opts.ManifestName, Err: err}
	}
	defer r.Close()
	pf := newPrefetchReader(&limitReader{r: r, n: s.opts.MaxManifestBytes})
	defer pf.Close()
	sk := newSkimmer(pf)
	sk.maxHold = int(s.opts.MaxNodeBytes)
	var fnErr error
	err = topMembers(sk, func(name []byte) error {
		switch string(name) {
		case "nodes", "unit_tests":
			return objectMembers2(ctx, sk, func(id []byte) error {
				idx, ok := s.index[string(id)]
				var ri int32
				if ok {
					ri, ok = s.byID[idx]
				}
				if !ok || s.results[ri].emitted {
					_, err := sk.value(false)
					return err
				}
				v, err := sk.value(true)
				if err != nil && !isTooBig(err) {
					return err
				}
				code, compiled := nodeCode(v)
				if fnErr = s.emit(ri, code, compiled, fn); fnErr != nil {
					return fnErr
				}
				return nil
			})
		}
		_, err := sk.value(false)
		return err
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return classify(s.opts.ManifestName, sk.offset(), err)
	}
	for i := range s.results {
		res := &s.results[i]
		if res.emitted {
			continue
		}
		first := s.byID[res.id]
		if int(first) != i {
			// A repeated result: it shares the first one's node.
			f := &s.results[first]
			res.inManifest, res.resourceType, res.name, res.pkg = f.inManifest, f.resourceType, f.name, f.pkg
			res.db, res.schema, res.alias = f.db, f.schema, f.alias
			res.deps, res.pmap, res.inPmap, res.attached = f.deps, f.pmap, f.inPmap, f.attached
			res.column, res.testName, res.severity, res.model = f.column, f.testName, f.severity, f.model
		}
		if err := s.emit(int32(i), res.embeddedCode, res.embeddedCodeCompiled, fn); err != nil {
			return err
		}
	}
	return nil
}

// emit builds the ExecutedNode of result ri and calls fn.
func (s *NodeSet) emit(ri int32, code string, compiled bool, fn func(*ExecutedNode) error) error {
	res := &s.results[ri]
	res.emitted = true
	id := s.ids[res.id]
	n := &ExecutedNode{
		UniqueID:      id,
		ResourceType:  firstNonEmpty(res.resourceType, typeOfID(id)),
		Name:          res.name,
		PackageName:   res.pkg,
		Database:      res.db,
		Schema:        res.schema,
		Alias:         res.alias,
		Code:          firstNonEmpty(code, res.embeddedCode),
		CodeCompiled:  compiled || (code == "" && res.embeddedCodeCompiled),
		ColumnName:    res.column,
		TestName:      res.testName,
		Severity:      res.severity,
		Status:        res.status,
		Message:       res.message,
		Failures:      res.failures,
		ExecutionTime: res.execTime,
		StartedAt:     res.started,
		CompletedAt:   res.completed,
		InManifest:    res.inManifest,
	}
	if n.Name == "" {
		if i := strings.LastIndexByte(id, '.'); i >= 0 {
			n.Name = id[i+1:]
		}
	}
	for _, p := range res.parents() {
		n.Parents = append(n.Parents, s.ids[p])
		if relationKind(s.kindOf(p)) {
			if rel := s.relation(p); rel != nil {
				n.Inputs = append(n.Inputs, *rel)
			}
		}
	}
	if relationKind(n.ResourceType) && n.ResourceType != "source" && res.inManifest {
		n.Output = &Relation{UniqueID: id, ResourceType: n.ResourceType, Database: res.db, Schema: res.schema, Identifier: res.alias}
	}
	if isTestType(n.ResourceType) {
		if t := s.tested(res); t >= 0 {
			n.TestedNode = s.ids[t]
			n.TestedRelation = s.relation(t)
		}
	}
	return fn(n)
}

// nodeCode picks a node's compiled code, else its raw code.
func nodeCode(v []byte) (string, bool) {
	var compiled, raw string
	var scratch []byte
	rawMembers(v, func(n, val []byte) {
		switch string(n) {
		case "compiled_code", "compiled_sql", "injected_sql":
			if compiled == "" {
				compiled = rawText(val, scratch)
			}
		case "raw_code", "raw_sql":
			if raw == "" {
				raw = rawText(val, scratch)
			}
		}
	})
	if compiled != "" {
		return compiled, true
	}
	return raw, false
}

// header is the metadata object of either artifact, with adapter_type.
type header struct {
	DbtVersion, InvocationID, GeneratedAt, AdapterType string
}

func parseHeader(v []byte) header {
	var h header
	var scratch []byte
	rawMembers(v, func(n, val []byte) {
		switch string(n) {
		case "dbt_version":
			h.DbtVersion = rawText(val, scratch)
		case "invocation_id":
			h.InvocationID = rawText(val, scratch)
		case "generated_at":
			h.GeneratedAt = rawText(val, scratch)
		case "adapter_type":
			h.AdapterType = rawText(val, scratch)
		}
	})
	return h
}

// rawText is looseValueString for a raw value: a string unquoted, a number
// or boolean as its text, anything else "".
func rawText(v []byte, scratch []byte) string {
	if len(v) > 0 && v[0] == '"' {
		if s, ok := rawUnquote(v, scratch); ok {
			return string(s)
		}
		return ""
	}
	if len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9' || v[0] == 't' || v[0] == 'f') {
		return string(v)
	}
	return ""
}

// rawTruthy is looseBool for a raw value.
func rawTruthy(v []byte) bool {
	switch rawText(v, nil) {
	case "", "false", "0", "null":
		return false
	}
	return true
}

// rawInt reads dbt's failures: an integer, a numeric string or a float.
func rawInt(v []byte) (int64, bool) {
	t := rawText(v, nil)
	if t == "" || t == "true" || t == "false" {
		return 0, false
	}
	var f float64
	if _, err := fmt.Sscan(t, &f); err != nil {
		return 0, false
	}
	return int64(f), true
}

// rawItems calls fn with each item of the array in v.
func rawItems(v []byte, fn func(item []byte)) {
	i := skipWS(v, 0)
	if i >= len(v) || v[i] != '[' {
		return
	}
	i++
	for {
		i = skipWS(v, i)
		if i >= len(v) || v[i] == ']' {
			return
		}
		end := valueEnd(v, i)
		if end < 0 {
			return
		}
		fn(v[i:end])
		i = skipWS(v, end)
		if i >= len(v) || v[i] != ',' {
			return
		}
		i++
	}
}

// parseTime reads dbt's timestamps ("2023-10-15T16:44:20.123456Z", with or
// without a zone); zero when empty or unreadable.
func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

func isTooBig(err error) bool {
	_, ok := err.(*heldTooBig)
	return ok
}

func ignoreTooBig(err error) error {
	if isTooBig(err) {
		return nil
	}
	return err
}

// topMembers walks the top-level object with the skimmer, calling fn with
// each member name; fn must consume the value.
func topMembers(sk *skimmer, fn func(name []byte) error) error {
	c, err := sk.peek()
	if err == io.EOF {
		return ErrEmpty
	}
	if err != nil {
		return err
	}
	if c != '{' {
		return wrongArtifact("an artifact must be a JSON object")
	}
	sk.pos++
	if c, err := sk.peek(); err == nil && c == '}' {
		sk.pos++
		return sk.end()
	}
	for more := true; more; {
		name, err := sk.key()
		if err != nil {
			return err
		}
		if err := fn(name); err != nil {
			return err
		}
		if more, err = sk.next('}'); err != nil {
			return err
		}
	}
	return sk.end()
}

// objectMembers2 walks the object that comes next member by member (a
// value that is not an object is skipped), calling fn with each member's
// unescaped name; fn must consume the value.
func objectMembers2(ctx context.Context, sk *skimmer, fn func(name []byte) error) error {
	c, err := sk.peek()
	if err == io.EOF {
		return sk.errAt("an object")
	}
	if err != nil {
		return err
	}
	if c != '{' {
		_, err := sk.value(false)
		return err
	}
	sk.pos++
	if c, err := sk.peek(); err == nil && c == '}' {
		sk.pos++
		return nil
	}
	var quoted []byte
	for n := 0; ; n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		name, err := sk.key()
		if err != nil {
			return err
		}
		if len(name) > 0 && strings.IndexByte(string(name), '\\') >= 0 {
			quoted = append(append(append(quoted[:0], '"'), name...), '"')
			u, ok := rawUnquote(quoted, nil)
			if !ok {
				return &ParseError{Offset: sk.offset(), Err: fmt.Errorf("%w: bad escape in member name", ErrNotJSON)}
			}
			name = u
		}
		if err := fn(name); err != nil {
			return err
		}
		more, err := sk.next('}')
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
	}
}

// arrayItems walks the array that comes next, calling fn at each item; fn
// must consume it. A value that is not an array is an error.
func arrayItems(ctx context.Context, sk *skimmer, fn func() error) error {
	c, err := sk.peek()
	if err == io.EOF {
		return sk.errAt("an array")
	}
	if err != nil {
		return err
	}
	if c != '[' {
		return wrongArtifact("\"results\" is not an array: this JSON is not a dbt run_results")
	}
	sk.pos++
	if c, err := sk.peek(); err == nil && c == ']' {
		sk.pos++
		return nil
	}
	for n := 0; ; n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if err := fn(); err != nil {
			return err
		}
		more, err := sk.next(']')
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
	}
}
