package artifacts

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// Node kinds that matter to the skip rules.
const (
	kindOther uint8 = iota
	kindTest
	kindUnitTest
)

func kindOfID(id string) uint8 {
	switch {
	case strings.HasPrefix(id, "test."):
		return kindTest
	case strings.HasPrefix(id, "unit_test."):
		return kindUnitTest
	}
	return kindOther
}

// graph is the dependency graph of a manifest with nodes as small integers:
// all the analysis keeps of nodes it does not report.
type graph struct {
	index    map[string]int32
	ids      []string
	kinds    []uint8
	defined  []bool    // a node of nodes or unit_tests, not only referenced
	deps     [][]int32 // depends_on.nodes
	pmap     [][]int32 // parent_map, when the manifest has one
	inPmap   []bool
	attached []int32 // tests: attached_node (or a unit test's model), else -1
	hasPmap  bool
}

func newGraph() *graph { return &graph{index: map[string]int32{}} }

// intern returns the integer of id, adding it when new. id may be a
// transient slice: it is copied only when added.
func (g *graph) intern(id []byte) int32 {
	if i, ok := g.index[string(id)]; ok {
		return i
	}
	s := string(id)
	i := int32(len(g.ids))
	g.index[s] = i
	g.ids = append(g.ids, s)
	g.kinds = append(g.kinds, kindOfID(s))
	g.defined = append(g.defined, false)
	g.deps = append(g.deps, nil)
	g.pmap = append(g.pmap, nil)
	g.inPmap = append(g.inPmap, false)
	g.attached = append(g.attached, -1)
	return i
}

func (g *graph) lookup(id string) (int32, bool) {
	i, ok := g.index[id]
	return i, ok
}

// parents are the parent_map entry when there is one, else depends_on.
func (g *graph) parents(i int32) []int32 {
	if g.inPmap[i] {
		return g.pmap[i]
	}
	return g.deps[i]
}

// pendingNode is a node read before run_results could say whether it is
// reported: its raw bytes, or where to read them again, wait for the answer.
type pendingNode struct {
	idx int32
	raw []byte // nil when the node is to be read again at off
	off int64
	n   int32
}

// manifestData is what the analysis keeps of manifest.json.
type manifestData struct {
	meta         metadata
	g            *graph
	details      map[string]*detail
	pending      []pendingNode
	pendingBytes int64
	// ra, when the manifest can be read again at an offset (a file), lets
	// pending nodes be kept as offsets rather than bytes; raBase is the
	// offset in ra of the first byte streamed.
	ra     io.ReaderAt
	raBase int64
}

type manifestReader struct {
	ctx      context.Context
	sk       *skimmer
	set      *reportedSet
	budget   int64
	validate bool
	m        *manifestData
	// scratch buffers reused across nodes.
	valBuf []byte
	depBuf []int32
	spans  [3][2]int
}

// readManifest streams manifest.json, keeping the graph and the details of
// nodes that set says are reported.
func readManifest(ctx context.Context, r io.Reader, file string, opts Options, set *reportedSet) (*manifestData, error) {
	mr := &manifestReader{
		ctx:      ctx,
		sk:       newSkimmer(&limitReader{r: r, n: opts.MaxManifestBytes}),
		set:      set,
		budget:   opts.MaxPendingBytes,
		validate: opts.Validate,
		m:        &manifestData{g: newGraph(), details: map[string]*detail{}},
	}
	if ra, ok := r.(io.ReaderAt); ok {
		if sk, ok := r.(io.Seeker); ok {
			if base, err := sk.Seek(0, io.SeekCurrent); err == nil {
				mr.m.ra, mr.m.raBase = ra, base
			}
		}
	}
	if err := mr.read(); err != nil {
		pe := classify(file, mr.sk.offset(), err)
		if pe.File == "" {
			pe.File = file
		}
		return nil, pe
	}
	return mr.m, nil
}

func (mr *manifestReader) read() error {
	sk := mr.sk
	c, err := sk.peek()
	if err == io.EOF {
		return ErrEmpty
	}
	if err != nil {
		return err
	}
	if c != '{' {
		if _, err := sk.value(false); err != nil {
			return err
		}
		return wrongArtifact("a manifest must be a JSON object, this file holds a JSON %s", kindName(jsontext.Kind(c)))
	}
	sk.pos++
	sawNodes := false
	if c, err := sk.peek(); err == nil && c == '}' {
		sk.pos++
	} else {
		for more := true; more; {
			name, err := sk.key()
			if err != nil {
				return err
			}
			switch string(name) {
			case "metadata":
				var v []byte
				if v, err = sk.value(true); err == nil {
					mr.m.meta, err = readMetadata(jsontext.NewDecoder(bytes.NewReader(v), decoderOptions...))
				}
			case "nodes":
				sawNodes = true
				err = mr.readNodes()
			case "unit_tests":
				err = mr.readNodes()
			case "parent_map":
				err = mr.readParentMap()
			case "generated_at":
				// Pre-0.19 manifests put it at the top level.
				var v []byte
				if v, err = sk.value(true); err == nil {
					mr.m.meta.GeneratedAt = looseValueString(v)
				}
			case "results", "elapsed_time":
				err = wrongArtifact("this is a run_results (it has %q), not a manifest; swap the two files?", string(name))
			default:
				// macros, docs, sources, child_map, disabled, semantic
				// models...: skipped without being decoded.
				_, err = sk.value(false)
			}
			if err != nil {
				return err
			}
			if more, err = sk.next('}'); err != nil {
				return err
			}
		}
	}
	if err := sk.end(); err != nil {
		return err
	}
	if !sawNodes {
		return wrongArtifact("no \"nodes\" object: this JSON is not a dbt manifest")
	}
	return nil
}

// members calls fn for each member of the object that comes next, with the
// member name interned in the graph; fn must consume the value. A value that
// is not an object is skipped.
func (mr *manifestReader) members(fn func(idx int32) error) error {
	sk := mr.sk
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
	for n := 0; ; n++ {
		if n%4096 == 0 && mr.ctx.Err() != nil {
			return mr.ctx.Err()
		}
		name, err := sk.key()
		if err != nil {
			return err
		}
		id, ok := rawUnquote(append(append(mr.valBuf[:0], '"'), append(name, '"')...), nil)
		if !ok {
			return &ParseError{Offset: sk.offset(), Err: fmt.Errorf("%w: bad escape in member name", ErrNotJSON)}
		}
		if err := fn(mr.m.g.intern(id)); err != nil {
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

func (mr *manifestReader) readNodes() error {
	return mr.members(func(idx int32) error {
		mr.m.g.defined[idx] = true
		v, err := mr.sk.node(graphMember, mr.spans[:])
		if err != nil {
			return err
		}
		if len(v) == 0 || v[0] != '{' {
			return nil
		}
		if mr.validate && !jsontext.Value(v).IsValid(decoderOptions...) {
			return &ParseError{Offset: mr.sk.offset() - int64(len(v)), Err: fmt.Errorf("%w: node %s is not valid JSON", ErrNotJSON, mr.m.g.ids[idx])}
		}
		return mr.readNode(idx, v)
	})
}

// readNode records one node from its raw bytes: its full detail when it is
// reported, else only its edges. While run_results is still being read it
// may not be known yet whether the node is reported: its bytes then wait in
// pending, up to the budget.
func (mr *manifestReader) readNode(idx int32, v []byte) error {
	id := mr.m.g.ids[idx]
	if !mr.set.complete() && !mr.set.has(id) {
		if mr.m.ra != nil && len(v) <= math.MaxInt32 {
			// 12 bytes per node: no budget needed.
			off := mr.sk.offset() - int64(len(v))
			mr.m.pending = append(mr.m.pending, pendingNode{idx: idx, off: off, n: int32(len(v))})
			mr.graphFromSpans(idx, v)
			return nil
		}
		if mr.budget >= 0 && mr.m.pendingBytes+int64(len(v)) <= mr.budget {
			raw := bytes.Clone(v)
			mr.m.pending = append(mr.m.pending, pendingNode{idx: idx, raw: raw})
			mr.m.pendingBytes += int64(len(raw))
			mr.graphFromSpans(idx, raw)
			return nil
		}
		if err := mr.waitRunResults(); err != nil {
			return err
		}
	}
	if mr.set.complete() && len(mr.m.pending) > 0 && mr.m.ra == nil {
		mr.m.resolvePending(mr.set)
	}
	if mr.set.has(id) {
		mr.keepDetail(idx, v)
		return nil
	}
	mr.graphFromSpans(idx, v)
	return nil
}

func (mr *manifestReader) waitRunResults() error {
	select {
	case <-mr.set.done:
		mr.m.resolvePending(mr.set)
		return nil
	case <-mr.ctx.Done():
		return mr.ctx.Err()
	}
}

// keepDetail decodes the full detail of a reported node and its edges.
func (mr *manifestReader) keepDetail(idx int32, v jsontext.Value) {
	d := parseDetail(v)
	mr.m.details[mr.m.g.ids[idx]] = d
	mr.m.g.setEdges(idx, d)
}

// setEdges records the edges of a node from its decoded detail.
func (g *graph) setEdges(idx int32, d *detail) {
	deps := make([]int32, 0, len(d.DependsOn))
	for _, p := range d.DependsOn {
		deps = append(deps, g.intern([]byte(p)))
	}
	g.deps[idx] = deps
	if d.AttachedNode != "" {
		g.attached[idx] = g.intern([]byte(d.AttachedNode))
	} else if d.Model != "" && g.kinds[idx] == kindUnitTest {
		g.attached[idx] = g.unitTestModel(deps, d.Model)
	}
}

// unitTestModel picks, among a unit test's parents, the model it tests.
func (g *graph) unitTestModel(deps []int32, model string) int32 {
	for _, p := range deps {
		if strings.HasSuffix(g.ids[p], "."+model) {
			return p
		}
	}
	return -1
}

// The members of a node that hold its edges, as indices into spans.
const (
	spanDependsOn = iota
	spanAttached
	spanModel
)

func graphMember(name []byte) int {
	switch string(name) {
	case "depends_on":
		return spanDependsOn
	case "attached_node":
		return spanAttached
	case "model":
		return spanModel
	}
	return -1
}

// graphFromSpans records a node's edges (depends_on.nodes, attached_node, a
// unit test's model) from the member spans the skimmer found in v.
func (mr *manifestReader) graphFromSpans(idx int32, v []byte) {
	g := mr.m.g
	sp := mr.spans
	if s := sp[spanDependsOn]; s[0] >= 0 {
		rawMembers(v[s[0]:s[1]], func(name, val []byte) {
			if string(name) != "nodes" {
				return
			}
			deps := mr.depBuf[:0]
			rawStrings(val, mr.valBuf, func(s []byte) {
				if len(s) > 0 {
					deps = append(deps, g.intern(s))
				}
			})
			mr.depBuf = deps
			g.deps[idx] = append([]int32(nil), deps...)
		})
	}
	if s := sp[spanAttached]; s[0] >= 0 {
		if id, ok := rawUnquote(v[s[0]:s[1]], mr.valBuf); ok && len(id) > 0 {
			g.attached[idx] = g.intern(id)
		}
	}
	if s := sp[spanModel]; s[0] >= 0 && g.kinds[idx] == kindUnitTest && g.attached[idx] < 0 {
		if model, ok := rawUnquote(v[s[0]:s[1]], mr.valBuf); ok && len(model) > 0 {
			g.attached[idx] = g.unitTestModel(g.deps[idx], string(model))
		}
	}
}

func (mr *manifestReader) readParentMap() error {
	g := mr.m.g
	g.hasPmap = true
	return mr.members(func(idx int32) error {
		v, err := mr.sk.value(true)
		if err != nil {
			return err
		}
		deps := mr.depBuf[:0]
		rawStrings(v, mr.valBuf, func(s []byte) {
			if len(s) > 0 {
				deps = append(deps, g.intern(s))
			}
		})
		mr.depBuf = deps
		g.pmap[idx] = append([]int32(nil), deps...)
		g.inPmap[idx] = true
		return nil
	})
}

// resolvePending decodes the details of pending nodes that turned out to be
// reported, and frees the rest. set must be complete.
func (m *manifestData) resolvePending(set *reportedSet) {
	for _, p := range m.pending {
		id := m.g.ids[p.idx]
		if !set.has(id) {
			continue
		}
		raw := p.raw
		if raw == nil {
			raw = make([]byte, p.n)
			if _, err := m.ra.ReadAt(raw, m.raBase+p.off); err != nil {
				// The file changed under us: report the node from
				// run_results alone rather than fail the analysis.
				continue
			}
		}
		d := parseDetail(raw)
		m.details[id] = d
		m.g.setEdges(p.idx, d)
	}
	m.pending = nil
	m.pendingBytes = 0
}
