package artifacts

import (
	"context"
	"fmt"
	"io"
	"strconv"
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
	words    []string          // small repeated strings, by index (0: "")
	wordIx   map[string]uint32 // their index
	ids      []string          // interned ids
	index    map[string]int32
	results  resultList
	byID     map[int32]int32     // id → first result with it
	rels     map[int32]*Relation // relations of parents that did not run
	slab     []int32             // backing of the parents lists
	embedded map[int32]code      // code of pre-0.19 results' own nodes, by result
}

// execResult is one result and, after the first manifest pass, its node.
// It is kept small, since a big project runs a hundred thousand nodes:
// repeated strings are word indexes, a name equal to the id's last part and
// an alias equal to the name are not stored.
type execResult struct {
	id, attached       int32
	status, rtype, pkg uint32
	db, schema         uint32
	column, testName   uint32
	severity, model    uint32
	name, alias        string
	message            string // kept for results that did not succeed
	failures           int64  // -1: null
	started, completed int64  // Unix nanoseconds, 0: none
	execTime           float64
	parents            []int32 // depends_on, replaced by parent_map's entry
	flags              uint8
}

const (
	flagInManifest uint8 = 1 << iota
	flagInPmap
	flagEmitted
)

// resultList stores results in fixed chunks, so that growing it never
// copies (nor holds twice) what it already has.
type resultList struct {
	chunks [][]execResult
	n      int
}

const resultChunk = 4096

func (l *resultList) add(r execResult) int32 {
	if l.n%resultChunk == 0 {
		l.chunks = append(l.chunks, make([]execResult, 0, resultChunk))
	}
	c := &l.chunks[len(l.chunks)-1]
	*c = append(*c, r)
	l.n++
	return int32(l.n - 1)
}

func (l *resultList) at(i int32) *execResult {
	return &l.chunks[int(i)/resultChunk][int(i)%resultChunk]
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
		words:    []string{""},
		wordIx:   map[string]uint32{"": 0},
		index:    map[string]int32{},
		byID:     map[int32]int32{},
		rels:     map[int32]*Relation{},
		embedded: map[int32]code{},
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
func (s *NodeSet) Len() int { return s.results.n }

// intern interns a node id.
func (s *NodeSet) intern(b []byte) int32 { return internIn(&s.ids, s.index, b) }

// word interns a small repeated string.
func (s *NodeSet) word(b []byte) uint32 { return internIn(&s.words, s.wordIx, b) }

// internIn returns the index of b in list (ix maps each string of list to
// its index), adding it when it is new.
func internIn[T int32 | uint32](list *[]string, ix map[string]T, b []byte) T {
	if i, ok := ix[string(b)]; ok {
		return i
	}
	v := string(b)
	i := T(len(*list))
	*list = append(*list, v)
	ix[v] = i
	return i
}

func (s *NodeSet) wordOf(raw []byte, scratch []byte) uint32 {
	if len(raw) > 0 && raw[0] == '"' {
		if u, ok := rawUnquote(raw, scratch); ok {
			return s.word(u)
		}
		return 0
	}
	return s.word([]byte(rawText(raw, scratch)))
}

// idList interns a raw array of ids into a list carved from the slab.
func (s *NodeSet) idList(v []byte, scratch []byte) []int32 {
	start := len(s.slab)
	rawStrings(v, scratch, func(p []byte) {
		if len(p) > 0 {
			if len(s.slab) == cap(s.slab) {
				// A new slab; the list so far moves with it.
				n := len(s.slab) - start
				ns := make([]int32, n, max(1<<14, 2*n))
				copy(ns, s.slab[start:])
				s.slab, start = ns, 0
			}
			s.slab = append(s.slab, s.intern(p))
		}
	})
	if len(s.slab) == start {
		return nil
	}
	return s.slab[start:len(s.slab):len(s.slab)]
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
				s.Invocation.ElapsedTime, _ = strconv.ParseFloat(looseValueString(v), 64)
			}
			return ignoreTooBig(err)
		case "results":
			sawResults = true
			return arrayItems(ctx, sk, func() error {
				v, err := sk.value(true)
				if err != nil {
					if big, ok := err.(*heldTooBig); ok {
						s.Warnings = append(s.Warnings, fmt.Sprintf("a run_results result of %d bytes at byte %d is over the %d bytes one value may hold in memory (the node size limit) and was skipped", big.size, big.off, big.limit))
						return nil
					}
					return err
				}
				s.addResult(v)
				return nil
			})
		case "nodes", "parent_map", "child_map", "macros", "sources":
			return manifestInRunResults(name)
		}
		_, err := sk.value(false)
		return err
	})
	return endPass(s.opts.RunResultsName, sk, err, sawResults, noResults)
}

// endPass ends a top-level pass over file: err, classified at the
// skimmer's offset, or, when the pass went through, missing() if the member
// that makes the file the artifact it should be was not seen.
func endPass(file string, sk *skimmer, err error, saw bool, missing func() error) error {
	if err == nil && !saw {
		err = missing()
	}
	if err != nil {
		return classify(file, sk.offset(), err)
	}
	return nil
}

// addResult records one result object.
func (s *NodeSet) addResult(v []byte) {
	var (
		res                 = execResult{attached: -1, failures: -1}
		id                  []byte
		status, message     string
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
			status = rawText(val, scratch)
		case "message":
			message = rawText(val, scratch)
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
				res.failures = n
			}
		case "execution_time":
			res.execTime, _ = strconv.ParseFloat(rawText(val, scratch), 64)
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
	res.started, res.completed = unixNano(parseTime(started)), unixNano(parseTime(completed))
	if embedded != nil {
		var eid, etype string
		rawMembers(embedded, func(n, val []byte) {
			switch string(n) {
			case "unique_id":
				eid = rawText(val, scratch)
			case "resource_type":
				etype = rawText(val, scratch)
			}
		})
		if len(id) == 0 {
			id = []byte(eid)
			// Pre-0.19: status is SQL text; the outcome is in the flags.
			switch {
			case errText != "":
				status = "error"
			case skip:
				status = "skipped"
			case fail:
				status = "fail"
			case warn:
				status = "warn"
			case etype == "test":
				status = "pass"
			default:
				status = "success"
			}
		}
	}
	if message == "" {
		message = errText
	}
	if !statusSeen && embedded == nil {
		status = ""
	}
	if len(id) == 0 {
		return
	}
	res.status = s.word([]byte(status))
	if classOf(status) != classNone {
		res.message = message
	}
	res.id = s.intern(id)
	ri := s.results.add(res)
	if _, ok := s.byID[res.id]; !ok {
		s.byID[res.id] = ri
	}
	if embedded != nil {
		// The result's own node, read as a manifest node is.
		r := s.results.at(ri)
		r.fromNode(s, embedded)
		r.flags &^= flagInManifest
		var c code
		c.text, c.compiled = nodeCode(embedded)
		s.embedded[ri] = c
	}
}

// code is a node's code, and whether it is compiled.
type code struct {
	text     string
	compiled bool
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
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

// manifestSkimmer opens the manifest for one pass: read ahead, within the
// manifest size limit, holding one value up to the node size limit. done
// closes it.
func (s *NodeSet) manifestSkimmer(ctx context.Context) (sk *skimmer, done func(), err error) {
	r, err := s.manifest(ctx)
	if err != nil {
		return nil, nil, &ParseError{File: s.opts.ManifestName, Err: err}
	}
	pf := newPrefetchReader(&limitReader{r: r, n: s.opts.MaxManifestBytes})
	sk = newSkimmer(pf)
	sk.maxHold, sk.byteLoop = int(s.opts.MaxNodeBytes), s.opts.byteLoop
	return sk, func() { pf.Close(); r.Close() }, nil
}

// scanManifest is the first manifest pass.
func (s *NodeSet) scanManifest(ctx context.Context) error {
	sk, done, err := s.manifestSkimmer(ctx)
	if err != nil {
		return err
	}
	defer done()
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
			return skimMembers(ctx, sk, func(id []byte) error {
				ri, executed := s.resultOf(id)
				rt := typeOfID(string(id))
				if !executed && !relationKind(rt) {
					_, err := sk.value(false)
					return err
				}
				v, err := sk.value(true)
				if err != nil {
					if isTooBig(err) {
						oversized = append(oversized, string(id))
						return nil
					}
					return err
				}
				if executed {
					s.results.at(ri).fromNode(s, v)
					return nil
				}
				// A relation that did not run: kept in case an executed
				// node reads it (prune drops it otherwise).
				s.rels[s.intern(id)] = s.relationOf(v, rt, source)
				return nil
			})
		case "parent_map":
			return skimMembers(ctx, sk, func(id []byte) error {
				ri, ok := s.resultOf(id)
				if !ok {
					_, err := sk.value(false)
					return err
				}
				v, err := sk.value(true)
				if err != nil {
					return ignoreTooBig(err)
				}
				res := s.results.at(ri)
				res.parents = s.idList(v, nil)
				res.flags |= flagInPmap
				return nil
			})
		case "results", "elapsed_time":
			return runResultsInManifest(name)
		}
		_, err := sk.value(false)
		return err
	})
	if err := endPass(s.opts.ManifestName, sk, err, sawNodes, noNodes); err != nil {
		return err
	}
	if len(oversized) > 0 {
		s.Warnings = append(s.Warnings, fmt.Sprintf("%d manifest value(s) over the %d bytes one value may hold in memory (the node size limit) were skipped, so their details are missing: %s", len(oversized), s.opts.MaxNodeBytes, strings.Join(firstN(oversized, 5), ", ")))
	}
	return nil
}

// resultOf returns the first result of the node with this id.
func (s *NodeSet) resultOf(id []byte) (int32, bool) {
	idx, ok := s.index[string(id)]
	if !ok {
		return 0, false
	}
	ri, ok := s.byID[idx]
	return ri, ok
}

func firstN(list []string, n int) []string {
	if len(list) <= n {
		return list
	}
	return append(list[:n:n], fmt.Sprintf("and %d more", len(list)-n))
}

// relationOf reads a relation from a node or source object.
func (s *NodeSet) relationOf(v []byte, rt string, source bool) *Relation {
	rel := &Relation{ResourceType: rt}
	var name, alias, ident string
	var scratch []byte
	rawMembers(v, func(n, val []byte) {
		switch string(n) {
		case "resource_type":
			if t := s.words[s.wordOf(val, scratch)]; t != "" {
				rel.ResourceType = t
			}
		case "database":
			rel.Database = s.words[s.wordOf(val, scratch)]
		case "schema":
			rel.Schema = s.words[s.wordOf(val, scratch)]
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
	res.flags |= flagInManifest
	var scratch []byte
	var name, alias, ident string
	var column, kwColumn uint32
	rawMembers(v, func(n, val []byte) {
		switch string(n) {
		case "resource_type":
			res.rtype = s.wordOf(val, scratch)
		case "name":
			name = rawText(val, scratch)
		case "package_name":
			res.pkg = s.wordOf(val, scratch)
		case "database":
			res.db = s.wordOf(val, scratch)
		case "schema":
			res.schema = s.wordOf(val, scratch)
		case "alias":
			alias = rawText(val, scratch)
		case "identifier":
			ident = rawText(val, scratch)
		case "depends_on":
			if res.flags&flagInPmap == 0 {
				rawMembers(val, func(k, x []byte) {
					if string(k) == "nodes" {
						res.parents = s.idList(x, nil)
					}
				})
			}
		case "attached_node":
			if a, ok := rawUnquote(val, scratch); ok && len(a) > 0 {
				res.attached = s.intern(a)
			}
		case "column_name":
			column = s.wordOf(val, scratch)
		case "test_metadata":
			rawMembers(val, func(k, x []byte) {
				switch string(k) {
				case "name":
					res.testName = s.wordOf(x, scratch)
				case "kwargs":
					rawMembers(x, func(kk, xx []byte) {
						if string(kk) == "column_name" {
							kwColumn = s.wordOf(xx, scratch)
						}
					})
				}
			})
		case "config":
			rawMembers(val, func(k, x []byte) {
				if string(k) == "severity" {
					res.severity = s.wordOf(x, scratch)
				}
			})
		case "model":
			res.model = s.wordOf(val, scratch)
		}
	})
	if column == 0 {
		column = kwColumn
	}
	res.column = column
	alias = firstNonEmpty(alias, ident)
	// Store only what the id does not already say.
	id := s.ids[res.id]
	if name == lastPart(id) {
		name = ""
	}
	if alias == firstNonEmpty(name, lastPart(id)) {
		alias = ""
	}
	res.name, res.alias = name, alias
}

func lastPart(id string) string {
	if i := strings.LastIndexByte(id, '.'); i >= 0 {
		return id[i+1:]
	}
	return id
}

// nameOf and aliasOf undo fromNode's elisions.
func (s *NodeSet) nameOf(res *execResult) string {
	if res.name != "" {
		return res.name
	}
	return lastPart(s.ids[res.id])
}

func (s *NodeSet) aliasOf(res *execResult) string {
	if res.alias != "" {
		return res.alias
	}
	return s.nameOf(res)
}

// kindOf is the resource type of a node by index.
func (s *NodeSet) kindOf(i int32) string {
	if ri, ok := s.byID[i]; ok {
		if rt := s.words[s.results.at(ri).rtype]; rt != "" {
			return rt
		}
	}
	if r, ok := s.rels[i]; ok {
		return r.ResourceType
	}
	return typeOfID(s.ids[i])
}

// tested returns the node a test or unit test tests, or -1.
func (s *NodeSet) tested(res *execResult) int32 {
	if res.attached >= 0 {
		return res.attached
	}
	if model := s.words[res.model]; model != "" {
		for _, p := range res.parents {
			if strings.HasSuffix(s.ids[p], "."+model) {
				return p
			}
		}
	}
	one := int32(-1)
	for _, p := range res.parents {
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
		res := s.results.at(ri)
		if rt := s.words[res.rtype]; res.flags&flagInManifest != 0 && relationKind(rt) {
			return &Relation{UniqueID: s.ids[i], ResourceType: rt, Database: s.words[res.db], Schema: s.words[res.schema], Identifier: s.aliasOf(res)}
		}
	}
	if r, ok := s.rels[i]; ok {
		out := *r
		out.UniqueID = s.ids[i]
		return &out
	}
	return nil
}

// prune drops the relations no executed node needs.
func (s *NodeSet) prune() {
	need := map[int32]bool{}
	for i := range int32(s.results.n) {
		res := s.results.at(i)
		for _, p := range res.parents {
			if _, ok := s.rels[p]; ok {
				need[p] = true
			}
		}
		if isTestType(s.words[res.rtype]) || isTestType(typeOfID(s.ids[res.id])) {
			if t := s.tested(res); t >= 0 {
				need[t] = true
			}
		}
	}
	for i := range s.rels {
		if !need[i] {
			delete(s.rels, i)
		}
	}
}

// Each calls fn with every executed node, in manifest order, then those the
// manifest lacks in run_results order. It reads the manifest a second time
// for the nodes' code, holding one node at a time; fn must not keep the
// node past its call. An error of fn stops the walk and is returned as is.
func (s *NodeSet) Each(ctx context.Context, fn func(*ExecutedNode) error) error {
	for i := range int32(s.results.n) {
		s.results.at(i).flags &^= flagEmitted
	}
	sk, done, err := s.manifestSkimmer(ctx)
	if err != nil {
		return err
	}
	defer done()
	var fnErr error
	err = topMembers(sk, func(name []byte) error {
		switch string(name) {
		case "nodes", "unit_tests":
			return skimMembers(ctx, sk, func(id []byte) error {
				ri, ok := s.resultOf(id)
				if !ok || s.results.at(ri).flags&flagEmitted != 0 {
					_, err := sk.value(false)
					return err
				}
				v, err := sk.value(true)
				if err != nil && !isTooBig(err) {
					return err
				}
				code, compiled := nodeCode(v)
				fnErr = s.emit(ri, ri, code, compiled, fn)
				return fnErr
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
	for i := range int32(s.results.n) {
		res := s.results.at(i)
		if res.flags&flagEmitted != 0 {
			continue
		}
		// A repeated result shares the first one's node.
		node := s.byID[res.id]
		c := s.embedded[node]
		if err := s.emit(i, node, c.text, c.compiled, fn); err != nil {
			return err
		}
	}
	return nil
}

// emit builds the ExecutedNode of result ri, with the node details of
// result ni (itself, or the first result of the same node), and calls fn.
func (s *NodeSet) emit(ri, ni int32, code string, compiled bool, fn func(*ExecutedNode) error) error {
	res, nd := s.results.at(ri), s.results.at(ni)
	res.flags |= flagEmitted
	id := s.ids[res.id]
	inManifest := nd.flags&flagInManifest != 0
	n := &ExecutedNode{
		UniqueID:      id,
		ResourceType:  firstNonEmpty(s.words[nd.rtype], typeOfID(id)),
		Name:          s.nameOf(nd),
		PackageName:   s.words[nd.pkg],
		Database:      s.words[nd.db],
		Schema:        s.words[nd.schema],
		Alias:         s.aliasOf(nd),
		Code:          code,
		CodeCompiled:  compiled,
		ColumnName:    s.words[nd.column],
		TestName:      s.words[nd.testName],
		Severity:      s.words[nd.severity],
		Status:        s.words[res.status],
		Message:       res.message,
		ExecutionTime: res.execTime,
		StartedAt:     fromUnixNano(res.started),
		CompletedAt:   fromUnixNano(res.completed),
		InManifest:    inManifest,
	}
	if res.failures >= 0 {
		f := res.failures
		n.Failures = &f
	}
	if c := s.embedded[ni]; code == "" && c.text != "" {
		n.Code, n.CodeCompiled = c.text, c.compiled
	}
	for _, p := range nd.parents {
		n.Parents = append(n.Parents, s.ids[p])
		if relationKind(s.kindOf(p)) {
			if rel := s.relation(p); rel != nil {
				n.Inputs = append(n.Inputs, *rel)
			}
		}
	}
	if relationKind(n.ResourceType) && n.ResourceType != "source" && inManifest {
		n.Output = &Relation{UniqueID: id, ResourceType: n.ResourceType, Database: n.Database, Schema: n.Schema, Identifier: n.Alias}
	}
	if isTestType(n.ResourceType) {
		if t := s.tested(nd); t >= 0 {
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
	f, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return 0, false
	}
	return int64(f), true
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
