package artifacts

import (
	"bytes"
	"context"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"os"
	"strings"
	"unsafe"

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
	// index finds the integer of an id: an open-addressing table whose
	// slots hold the top 32 bits of the id's hash and the integer plus one
	// (0 is an empty slot). It costs 8 bytes a slot, at most half full,
	// where a map[string]int32 costs several times that: the index is what
	// bounds the analysis' memory on big manifests.
	index []uint64
	seed  maphash.Seed
	// arena is the chunk the id strings are carved from, one allocation
	// for many ids.
	arena   []byte
	ids     []string
	kinds   []uint8
	defined []bool // a node of nodes or unit_tests, not only referenced
	// par are a node's parents: its parent_map entry when it has one
	// (inPmap), else its depends_on.nodes. One list per node, not two: the
	// graph is most of what the analysis holds.
	par      [][]int32
	inPmap   []bool
	attached []int32 // tests: attached_node (or a unit test's model), else -1
	hasPmap  bool
}

// newGraph sizes the graph for about hint nodes, which saves the regrowing
// of its tables on big manifests.
func newGraph(hint int) *graph {
	hint = min(max(hint, 0), 1<<20)
	slots := 1024
	for slots < 2*hint {
		slots *= 2
	}
	return &graph{
		index:    make([]uint64, slots),
		seed:     maphash.MakeSeed(),
		ids:      make([]string, 0, hint),
		kinds:    make([]uint8, 0, hint),
		defined:  make([]bool, 0, hint),
		par:      make([][]int32, 0, hint),
		inPmap:   make([]bool, 0, hint),
		attached: make([]int32, 0, hint),
	}
}

// bytesPerNode is a low estimate of a manifest's size per node, to size the
// graph from the file size.
const bytesPerNode = 2048

const arenaChunk = 64 << 10

// find returns the slot of id in the index: where it is, or the empty slot
// where it would go.
func (g *graph) find(id []byte, h uint64) (slot int, idx int32, ok bool) {
	mask := len(g.index) - 1
	tag := h >> 32
	for i := int(h) & mask; ; i = (i + 1) & mask {
		v := g.index[i]
		if v == 0 {
			return i, 0, false
		}
		if v>>32 == tag && g.ids[int32(v)-1] == string(id) {
			return i, int32(v) - 1, true
		}
	}
}

// intern returns the integer of id, adding it when new. id may be a
// transient slice: it is copied only when added.
func (g *graph) intern(id []byte) int32 {
	return g.internHashed(id, maphash.Bytes(g.seed, id))
}

// internHashed is intern for an id whose hash h (maphash with g.seed) is
// known.
func (g *graph) internHashed(id []byte, h uint64) int32 {
	slot, i, ok := g.find(id, h)
	if ok {
		return i
	}
	if 2*(len(g.ids)+1) > len(g.index) {
		g.grow()
		slot, _, _ = g.find(id, h)
	}
	var s string
	switch {
	case len(id) == 0:
	case len(id) > arenaChunk/16:
		s = string(id)
	default:
		if len(g.arena)+len(id) > cap(g.arena) {
			g.arena = make([]byte, 0, arenaChunk)
		}
		n := len(g.arena)
		g.arena = append(g.arena, id...)
		s = unsafe.String(&g.arena[n], len(id))
	}
	i = int32(len(g.ids))
	g.index[slot] = h>>32<<32 | uint64(i+1)
	g.ids = append(g.ids, s)
	g.kinds = append(g.kinds, kindOfID(s))
	g.defined = append(g.defined, false)
	g.par = append(g.par, nil)
	g.inPmap = append(g.inPmap, false)
	g.attached = append(g.attached, -1)
	return i
}

// grow doubles the index and places every id again.
func (g *graph) grow() {
	g.index = make([]uint64, 2*len(g.index))
	mask := len(g.index) - 1
	for i, id := range g.ids {
		h := maphash.String(g.seed, id)
		j := int(h) & mask
		for g.index[j] != 0 {
			j = (j + 1) & mask
		}
		g.index[j] = h>>32<<32 | uint64(i+1)
	}
}

func (g *graph) lookup(id string) (int32, bool) {
	_, i, ok := g.find(unsafe.Slice(unsafe.StringData(id), len(id)), maphash.String(g.seed, id))
	return i, ok
}

// parents are the parent_map entry when there is one, else depends_on.
func (g *graph) parents(i int32) []int32 {
	return g.par[i]
}

// pendingNode is a node read before run_results could say whether it is
// reported: its raw bytes wait for the answer.
type pendingNode struct {
	hash uint64 // of the node's id (reportedSet.hash)
	raw  []byte
}

// pendingOffset is a pending node of a manifest that can be read again:
// where to read it, in 24 bytes. Every node of a big manifest may wait so,
// hence the small entries, kept in chunks that never need copying.
type pendingOffset struct {
	hash uint64
	off  int64
	n    int32
}

const pendingChunk = 8192

// manifestData is what the analysis keeps of manifest.json.
type manifestData struct {
	meta metadata
	g    *graph
	// details are the decoded reported nodes, by reportedSet.hash of id.
	details      map[uint64]*detail
	pending      []pendingNode
	pendingAt    [][]pendingOffset // chunks of pendingChunk
	pendingBytes int64
	// ra, when the manifest can be read again at an offset (a file), lets
	// pending nodes be kept as offsets rather than bytes; raBase is the
	// offset in ra of the first byte streamed.
	ra     io.ReaderAt
	raBase int64
	// oversized are the values skipped for being over Options.MaxNodeBytes,
	// and warnings says what that costs.
	oversized []OversizedValue
	warnings  []string
	// window is the size the skimmer's window grew to: what the pass held
	// at most of the file at once (tests check it stays bounded).
	window int
}

// The manifest pass runs as a pipeline of two goroutines, because it is the
// critical path: the reader (skimmer) finds where each node begins and ends
// and decides what to keep of it, and the graph builder picks the edges out
// of the node's bytes, interns ids and decodes the details of reported
// nodes. They hand over batches of entries.
type entryKind uint8

const (
	entryNode      entryKind = iota // a node of nodes or unit_tests
	entryParentMap                  // a parent_map entry
	entryDetail                     // only a reported node's detail
)

// batchEntry is one member handed to the graph builder: its name and, for a
// node, the raw values of the members in nodeMembers (for a parent_map
// entry, vals[0] is the array of parents). A reported node also brings its
// raw bytes (raw), to be decoded into manifestData.details under hash (or,
// when big, its detail already decoded: det); an entryDetail brings only
// those. Spans index the batch arena; {0, 0} means absent.
type batchEntry struct {
	kind     entryKind
	keepCode bool // the detail keeps compiled code (the node is not skipped)
	name     [2]int32
	vals     [len(nodeMembers)][2]int32
	raw      [2]int32
	hash     uint64
	det      *detail // the detail of a big node, decoded by the reader
}

// bigDetail is the size past which a reported node is decoded by the
// reader as it is read, not copied into a batch for the builder.
const bigDetail = batchBytes / 4

type batch struct {
	arena   []byte
	entries []batchEntry
}

const (
	batchBytes = 64 << 10
	batchDepth = 4
)

type manifestReader struct {
	ctx      context.Context
	sk       *skimmer
	set      *reportedSet
	budget   int64
	validate bool
	m        *manifestData
	cur      *batch
	out      chan *batch
	free     chan *batch
	valBuf   []byte
	found    [len(nodeMembers)]int
	// detail is the detail readNode asks of the node being read: the next
	// queued node brings its raw bytes when set.
	detail detailRequest
	// complete caches set.complete() once it is true.
	complete bool
}

// detailRequest asks the graph builder to decode a reported node's detail.
type detailRequest struct {
	set      bool
	keepCode bool
	hash     uint64
}

// readManifest streams manifest.json, keeping the graph and the details of
// nodes that set says are reported.
func readManifest(ctx context.Context, r io.Reader, file string, opts Options, set *reportedSet) (*manifestData, error) {
	hint := 0
	if f, ok := r.(interface{ Stat() (os.FileInfo, error) }); ok {
		if fi, err := f.Stat(); err == nil {
			hint = int(fi.Size() / bytesPerNode)
		}
	}
	m := &manifestData{g: newGraph(hint), details: map[uint64]*detail{}}
	// Where the stream starts in the file, taken before read-ahead moves it.
	if ra, ok := r.(io.ReaderAt); ok {
		if sk, ok := r.(io.Seeker); ok {
			if base, err := sk.Seek(0, io.SeekCurrent); err == nil {
				m.ra, m.raBase = ra, base
			}
		}
	}
	pf, err := manifestInput(r, opts.MaxManifestBytes)
	if err != nil {
		return nil, classify(file, 0, err)
	}
	defer pf.Close()
	sk := newSkimmer(pf)
	sk.maxHold, sk.byteLoop = int(opts.MaxNodeBytes), opts.byteLoop
	mr := &manifestReader{
		ctx:      ctx,
		sk:       sk,
		set:      set,
		budget:   opts.MaxPendingBytes,
		validate: opts.Validate,
		m:        m,
		out:      make(chan *batch, batchDepth),
		free:     make(chan *batch, batchDepth+2),
	}
	for range batchDepth + 2 {
		mr.free <- &batch{} // arenas grow as needed
	}
	mr.cur = <-mr.free
	built := make(chan struct{})
	go func() {
		defer close(built)
		// The builder owns m.details until it is done: every detail is
		// decoded there, in the order the reader asked for them.
		b := graphBuilder{g: mr.m.g, details: mr.m.details}
		for bt := range mr.out {
			b.add(bt)
			bt.arena, bt.entries = bt.arena[:0], bt.entries[:0]
			if cap(bt.arena) > 4*batchBytes {
				// A huge node grew this one: do not keep its memory.
				bt.arena = make([]byte, 0, batchBytes)
			}
			mr.free <- bt
		}
	}()
	err = mr.read()
	mr.flush()
	close(mr.out)
	<-built
	if err != nil {
		pe := classify(file, mr.sk.offset(), err)
		if pe.File == "" {
			pe.File = file
		}
		return nil, pe
	}
	mr.m.warnOversized(opts.MaxNodeBytes)
	mr.m.window = cap(mr.sk.buf)
	return mr.m, nil
}

// manifestInput is what the manifest pass reads: r checked for its
// encoding, bounded to limit, read ahead unless it reads from memory.
// Close the reader it returns.
func manifestInput(r io.Reader, limit int64) (*prefetchReader, error) {
	r, err := sniffEncoding(r)
	if err != nil {
		return nil, err
	}
	return newPrefetchReader(newLimitReader(r, limit, LimitManifest)), nil
}

// oversized notes a value skipped by the skimmer for being too big, or
// returns err when it is another error.
func (mr *manifestReader) oversized(err error, what string, id []byte) error {
	big, ok := err.(*heldTooBig)
	if !ok {
		return err
	}
	mr.m.oversized = append(mr.m.oversized, OversizedValue{What: what, ID: validUTF8(string(id)), Offset: big.off, Size: big.size, Limit: int64(mr.sk.maxHold)})
	return nil
}

// warnOversized turns the values skipped for their size into warnings,
// naming the first few of each kind.
func (m *manifestData) warnOversized(limit int64) {
	const named = 5
	for _, what := range []string{"node", "parent_map entry", "metadata"} {
		var list []string
		count := 0
		for _, o := range m.oversized {
			if o.What != what {
				continue
			}
			if count++; count <= named {
				s := fmt.Sprintf("%d bytes at byte %d", o.Size, o.Offset)
				if o.ID != "" {
					s = fmt.Sprintf("%s (%s)", o.ID, s)
				}
				list = append(list, s)
			}
		}
		if count == 0 {
			continue
		}
		if count > named {
			list = append(list, fmt.Sprintf("and %d more", count-named))
		}
		names := strings.Join(list, ", ")
		switch what {
		case "node":
			m.warnings = append(m.warnings, fmt.Sprintf("%d manifest node(s) over the limit of %d bytes held per value were skipped: %s. Each counts as defined, but its details, depends_on and attached_node were dropped, so causes of skips that go through it may be missing", count, limit, names))
		case "parent_map entry":
			m.warnings = append(m.warnings, fmt.Sprintf("%d parent_map entr(ies) over the limit of %d bytes held per value were skipped: %s. Those nodes' parents are taken from depends_on instead, so causes of skips that go through them may be missing", count, limit, names))
		default:
			m.warnings = append(m.warnings, fmt.Sprintf("the manifest metadata is over the limit of %d bytes held per value and was skipped: %s", limit, names))
		}
	}
}

// queue appends an entry to the current batch, handing the batch over when
// it is full. raw, when not nil, is the node's bytes, for the detail
// mr.detail asks for (which queue then clears).
func (mr *manifestReader) queue(kind entryKind, name []byte, vals [len(nodeMembers)][]byte, raw []byte) {
	req := mr.detail
	mr.detail = detailRequest{}
	var det *detail
	switch {
	case !req.set:
		raw = nil
	case len(raw) > bigDetail:
		// A big node is decoded here, as it is read, rather than copied
		// into the batch: what the pass holds stays one node at most.
		det, raw = parseDetail(raw, req.keepCode), nil
	}
	n := len(name) + len(raw)
	for _, v := range vals {
		n += len(v)
	}
	if n > math.MaxInt32/2 {
		// Offsets are int32; no real node comes near this. Its edges are
		// dropped, not its detail.
		if !req.set {
			return
		}
		if det == nil {
			det = parseDetail(raw, req.keepCode)
		}
		kind, name, vals, raw = entryDetail, nil, [len(nodeMembers)][]byte{}, nil
	}
	b := mr.cur
	if len(b.arena) > 0 && len(b.arena)+n > batchBytes {
		mr.flush()
		b = mr.cur
	}
	if cap(b.arena) == 0 {
		b.arena = make([]byte, 0, batchBytes)
	}
	span := func(v []byte) [2]int32 {
		start := int32(len(b.arena))
		b.arena = append(b.arena, v...)
		return [2]int32{start, int32(len(b.arena))}
	}
	e := batchEntry{kind: kind, name: span(name), det: det}
	for i, v := range vals {
		e.vals[i] = span(v)
	}
	if req.set {
		e.hash, e.keepCode = req.hash, req.keepCode
		if len(raw) > 0 {
			e.raw = span(raw)
		}
	}
	b.entries = append(b.entries, e)
}

func (mr *manifestReader) flush() {
	if len(mr.cur.entries) == 0 {
		return
	}
	mr.out <- mr.cur
	mr.cur = <-mr.free
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
		start := sk.offset()
		v, err := sk.value(true)
		if _, big := err.(*heldTooBig); err != nil && !big {
			return err
		}
		if v != nil && !jsontext.Value(v).IsValid(decoderOptions...) {
			return &ParseError{Offset: start, Err: fmt.Errorf("%w: the file does not hold one JSON value", ErrNotJSON)}
		}
		return wrongArtifact("a manifest must be a JSON object, this file holds a JSON %s", kindName(jsontext.Kind(c)))
	}
	sawNodes := false
	err = topMembers(sk, func(name []byte) (err error) {
		switch string(name) {
		case "metadata":
			var v []byte
			if v, err = sk.value(true); err == nil {
				dec := valueDecoder(v)
				mr.m.meta, err = readMetadata(dec)
				putDecoder(dec)
			} else {
				err = mr.oversized(err, "metadata", nil)
			}
		case "nodes":
			sawNodes = true
			err = mr.members(entryNode)
		case "unit_tests":
			err = mr.members(entryNode)
		case "parent_map":
			mr.m.g.hasPmap = true
			err = mr.members(entryParentMap)
		case "generated_at":
			// Pre-0.19 manifests put it at the top level.
			var v []byte
			if v, err = sk.value(true); err == nil {
				mr.m.meta.GeneratedAt = looseValueString(v)
			} else {
				err = mr.oversized(err, "metadata", []byte("generated_at"))
			}
		case "results", "elapsed_time":
			err = runResultsInManifest(name)
		default:
			// macros, docs, sources, child_map, disabled, semantic
			// models...: skipped without being decoded.
			_, err = sk.value(false)
		}
		return err
	})
	if err != nil {
		return err
	}
	if !sawNodes {
		return noNodes()
	}
	return nil
}

// members reads the object that comes next (nodes, unit_tests or
// parent_map) member by member (skimMembers). A value that is not an object
// is skipped.
func (mr *manifestReader) members(kind entryKind) error {
	sk := mr.sk
	return skimMembers(mr.ctx, sk, func(name []byte) error {
		var vals [len(nodeMembers)][]byte
		if kind == entryParentMap {
			v, err := sk.value(true)
			if err != nil {
				if err := mr.oversized(err, "parent_map entry", name); err != nil {
					return err
				}
			} else {
				vals[0] = v
				mr.queue(kind, name, vals, nil)
			}
		} else {
			v, err := sk.scan(true, &mr.found)
			if err != nil {
				// A node too big to hold is still defined, without edges.
				if err := mr.oversized(err, "node", name); err != nil {
					return err
				}
			}
			if len(v) > 0 && v[0] == '{' {
				if mr.validate && !jsontext.Value(v).IsValid(decoderOptions...) {
					return &ParseError{Offset: sk.offset() - int64(len(v)), Err: fmt.Errorf("%w: node %s is not valid JSON", ErrNotJSON, name)}
				}
				if err := mr.readNode(name, v); err != nil {
					return err
				}
				for k, off := range mr.found {
					if off >= 0 && off < len(v) {
						i := skipWS(v, off)
						if end := valueEnd(v, i); end > i {
							vals[k] = v[i:end]
						}
					}
				}
			}
			// A node that is not an object still exists, without edges.
			if !mr.detail.set {
				v = nil
			}
			mr.queue(kind, name, vals, v)
		}
		return nil
	})
}

// readNode keeps the full detail of a reported node: it sets mr.detail, and
// the graph builder decodes the detail from the node's bytes, off the
// critical path (queue decodes a big one at once, rather than copy it).
// While run_results is still being read it may not be known yet whether the
// node is reported: it then waits in pending, as an offset when the file can
// be read again, else as bytes up to the budget, past which the pass waits
// for run_results. (Edges are the graph builder's job, for every node.)
func (mr *manifestReader) readNode(name, v []byte) error {
	h := mr.set.hashBytes(name)
	if _, reported := mr.class(h); !mr.setComplete() && !reported {
		if mr.m.ra != nil && len(v) <= math.MaxInt32 {
			off := mr.sk.offset() - int64(len(v))
			at := mr.m.pendingAt
			if len(at) == 0 || len(at[len(at)-1]) == pendingChunk {
				at = append(at, make([]pendingOffset, 0, pendingChunk))
			}
			at[len(at)-1] = append(at[len(at)-1], pendingOffset{hash: h, off: off, n: int32(len(v))})
			mr.m.pendingAt = at
			return nil
		}
		if mr.budget >= 0 && mr.m.pendingBytes+int64(len(v)) <= mr.budget {
			mr.m.pending = append(mr.m.pending, pendingNode{hash: h, raw: bytes.Clone(v)})
			mr.m.pendingBytes += int64(len(v))
			return nil
		}
		if err := mr.waitRunResults(); err != nil {
			return err
		}
	}
	if len(mr.m.pending) > 0 && mr.setComplete() {
		mr.resolvePending()
	}
	if class, ok := mr.class(h); ok {
		mr.detail = detailRequest{set: true, keepCode: class != classSkipped, hash: h}
	}
	return nil
}

// setComplete is set.complete(), remembered once true.
func (mr *manifestReader) setComplete() bool {
	if !mr.complete {
		mr.complete = mr.set.complete()
	}
	return mr.complete
}

// class is set.class, without its lock once the set is complete.
func (mr *manifestReader) class(h uint64) (int, bool) {
	if mr.complete {
		return mr.set.classDone(h)
	}
	return mr.set.class(h)
}

// resolvePending hands the pending nodes that turned out to be reported to
// the graph builder, which owns the details while the pass runs.
func (mr *manifestReader) resolvePending() {
	mr.m.eachPending(mr.set, func(h uint64, raw []byte, keepCode bool) {
		mr.detail = detailRequest{set: true, keepCode: keepCode, hash: h}
		mr.queue(entryDetail, nil, [len(nodeMembers)][]byte{}, raw)
	})
}

func (mr *manifestReader) waitRunResults() error {
	select {
	case <-mr.set.done:
		mr.resolvePending()
		return nil
	case <-mr.ctx.Done():
		return mr.ctx.Err()
	}
}

// setEdges records the edges of a node from its decoded detail (used for
// pre-0.19 results that embed a node the manifest lacks).
func (g *graph) setEdges(idx int32, d *detail) {
	deps := make([]int32, 0, len(d.DependsOn))
	for _, p := range d.DependsOn {
		deps = append(deps, g.intern([]byte(p)))
	}
	if !g.inPmap[idx] {
		g.par[idx] = deps
	}
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

// graphBuilder turns batches into graph edges, and decodes the details of
// reported nodes.
//
// Interning is bound by cache misses (the index slot, then the id's bytes),
// so a batch is added in two passes: prepare parses and hashes every id of
// the batch and warm touches what looking each up will read, so that those
// misses overlap rather than come one after another; then the entries are
// added in order, interning the prepared ids in the order one pass would.
type graphBuilder struct {
	g       *graph
	details map[uint64]*detail
	depBuf  []int32
	slab    []int32
	// The ids of the batch being added, in the order they are interned;
	// lists are ranges of refs (a parent_map entry's parents, or one
	// depends_on.nodes); preps are per entry.
	refs  []idRef
	lists [][2]int32
	preps []entryPrep
	sink  uint64 // what warm read, so that it is not optimised away
}

// idRef is an id of a batch (in the batch's arena, or unescaped) and its
// hash.
type idRef struct {
	id []byte
	h  uint64
}

// entryPrep is what prepare found in an entry.
type entryPrep struct {
	name     int32    // in refs
	lists    [2]int32 // range of lists: one for a parent_map entry, one per depends_on "nodes" member
	attached int32    // attached_node in refs, or -1
}

func (b *graphBuilder) add(bt *batch) {
	b.prepare(bt)
	b.warm()
	for k, e := range bt.entries {
		at := func(sp [2]int32) []byte { return bt.arena[sp[0]:sp[1]] }
		switch {
		case e.det != nil:
			b.details[e.hash] = e.det
		case e.raw[1] > e.raw[0]:
			b.details[e.hash] = parseDetail(at(e.raw), e.keepCode)
		}
		if e.kind == entryDetail {
			continue
		}
		p := b.preps[k]
		idx := b.internRef(p.name)
		if e.kind == entryParentMap {
			b.g.par[idx] = b.internList(p.lists[0])
			b.g.inPmap[idx] = true
			continue
		}
		b.g.defined[idx] = true
		b.node(idx, p, at(e.vals[2]))
	}
}

// prepare parses the ids of every entry of bt into refs, lists and preps.
// Unescaped ids are copies: they stay valid while the batch is added.
func (b *graphBuilder) prepare(bt *batch) {
	b.refs, b.lists, b.preps = b.refs[:0], b.lists[:0], b.preps[:0]
	for _, e := range bt.entries {
		at := func(sp [2]int32) []byte { return bt.arena[sp[0]:sp[1]] }
		p := entryPrep{attached: -1}
		if e.kind == entryDetail {
			b.preps = append(b.preps, p)
			continue
		}
		p.name = b.ref(at(e.name))
		lo := int32(len(b.lists))
		switch dependsOn := at(e.vals[0]); {
		case e.kind == entryParentMap:
			b.list(dependsOn)
		case len(dependsOn) > 0:
			rawMembers(dependsOn, func(name, val []byte) {
				if string(name) == "nodes" {
					b.list(val)
				}
			})
		}
		p.lists = [2]int32{lo, int32(len(b.lists))}
		if e.kind == entryNode {
			if s, ok := rawUnquote(at(e.vals[1]), nil); ok && len(s) > 0 {
				p.attached = b.ref(s)
			}
		}
		b.preps = append(b.preps, p)
	}
}

// ref adds id to refs and returns its index there.
func (b *graphBuilder) ref(id []byte) int32 {
	b.refs = append(b.refs, idRef{id: id, h: maphash.Bytes(b.g.seed, id)})
	return int32(len(b.refs) - 1)
}

// list adds the non-empty strings of the raw JSON array v to refs, as one
// list.
func (b *graphBuilder) list(v []byte) {
	lo := int32(len(b.refs))
	rawStrings(v, nil, func(s []byte) {
		if len(s) > 0 {
			b.ref(s)
		}
	})
	b.lists = append(b.lists, [2]int32{lo, int32(len(b.refs))})
}

// warm reads, for every prepared id, the index slot its lookup starts at
// and the first byte of the id held there. The reads do not depend on one
// another, so the processor overlaps their cache misses; the lookups that
// follow then mostly hit the cache.
func (b *graphBuilder) warm() {
	g := b.g
	mask := len(g.index) - 1
	var sink uint64
	for _, r := range b.refs {
		v := g.index[int(r.h)&mask]
		if v != 0 && v>>32 == r.h>>32 {
			if s := g.ids[int32(v)-1]; len(s) > 0 {
				sink += uint64(s[0])
			}
		}
	}
	b.sink += sink
}

func (b *graphBuilder) internRef(k int32) int32 {
	r := b.refs[k]
	return b.g.internHashed(r.id, r.h)
}

// internList interns the ids of lists[l] and returns their integers.
func (b *graphBuilder) internList(l int32) []int32 {
	deps := b.depBuf[:0]
	r := b.lists[l]
	for k := r[0]; k < r[1]; k++ {
		deps = append(deps, b.internRef(k))
	}
	b.depBuf = deps
	if len(deps) == 0 {
		return nil
	}
	// Carve the lists out of a slab: one allocation per many nodes.
	if len(deps) > cap(b.slab)-len(b.slab) {
		b.slab = make([]int32, 0, max(1<<14, len(deps)))
	}
	n := len(b.slab)
	b.slab = append(b.slab, deps...)
	return b.slab[n : n+len(deps) : n+len(deps)]
}

// node records a node's edges from its prepared depends_on.nodes lists
// (the last one counts) and attached_node, and the raw value of its model
// member (unit tests).
func (b *graphBuilder) node(idx int32, p entryPrep, model []byte) {
	g := b.g
	var deps []int32
	for l := p.lists[0]; l < p.lists[1]; l++ {
		deps = b.internList(l)
	}
	if !g.inPmap[idx] { // parent_map, when it came first, wins
		g.par[idx] = deps
	}
	if p.attached >= 0 {
		g.attached[idx] = b.internRef(p.attached)
	}
	if g.kinds[idx] == kindUnitTest && g.attached[idx] < 0 {
		if s, ok := rawUnquote(model, nil); ok && len(s) > 0 {
			g.attached[idx] = g.unitTestModel(deps, string(s))
		}
	}
}

// pendingCount is the number of nodes waiting for run_results.
func (m *manifestData) pendingCount() int {
	n := len(m.pending)
	for _, c := range m.pendingAt {
		n += len(c)
	}
	return n
}

// resolvePending decodes the details of pending nodes that turned out to be
// reported, and frees the rest. set must be complete.
func (m *manifestData) resolvePending(set *reportedSet) {
	m.eachPending(set, func(h uint64, raw []byte, keepCode bool) {
		m.details[h] = parseDetail(raw, keepCode)
	})
}

// eachPending calls fn with the raw bytes of each pending node that turned
// out to be reported (valid until fn returns), in file order, and frees the
// pending nodes. set must be complete.
func (m *manifestData) eachPending(set *reportedSet, fn func(h uint64, raw []byte, keepCode bool)) {
	for _, p := range m.pending {
		if class, ok := set.class(p.hash); ok {
			fn(p.hash, p.raw, class != classSkipped)
		}
	}
	var raw []byte
	for _, chunk := range m.pendingAt {
		for _, p := range chunk {
			class, ok := set.class(p.hash)
			if !ok {
				continue
			}
			if cap(raw) < int(p.n) {
				raw = make([]byte, p.n)
			}
			raw = raw[:p.n]
			if _, err := m.ra.ReadAt(raw, m.raBase+p.off); err != nil || len(raw) == 0 || raw[0] != '{' {
				// The file changed under us: report the node from
				// run_results alone rather than fail the analysis.
				continue
			}
			fn(p.hash, raw, class != classSkipped)
		}
	}
	m.pending, m.pendingAt = nil, nil
	m.pendingBytes = 0
}
