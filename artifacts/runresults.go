package artifacts

import (
	"bufio"
	"bytes"
	"context"
	"hash/maphash"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// Status classes of the analysis.
const (
	classNone = iota
	classFailed
	classWarned
	classSkipped
)

// classOf places a status in failed, warned or skipped. Unknown statuses are
// kept verbatim and fall in none of them.
func classOf(status string) int {
	switch strings.ToLower(status) {
	case "error", "fail", "runtime error", "partial success":
		return classFailed
	case "warn":
		return classWarned
	case "skipped":
		return classSkipped
	}
	return classNone
}

// result is what run_results says of one reported node.
type result struct {
	UniqueID      string
	Status        string
	RawStatus     string // pre-0.19 status text when it differs from Status
	Message       string
	Failures      *int64
	FailuresText  string
	ExecutionTime float64
	CompiledCode  string
	// CompiledCodeTruncated: CompiledCode was cut to MaxCompiledCodeBytes.
	CompiledCodeTruncated bool
	RelationName          string
	Embedded              *detail // pre-0.19 results embed their node
	// idHash is the hash of a unique_id that was not kept (a result not
	// reported), for spotting duplicates; hasHash says it is set.
	idHash  uint64
	hasHash bool
}

// runResults is what the analysis keeps of run_results.json: the header,
// counts of every status, and the reported results in file order.
type runResults struct {
	meta     metadata
	shape    string
	elapsed  float64
	total    int
	counts   map[string]int
	reported []result
	// dups counts results whose unique_id was already listed; firstDup is
	// the first such id (when it was read).
	dups     int
	firstDup string
}

// reportedSet is the set of reported ids that the run_results pass fills and
// the manifest pass reads while both run. done is closed when it is complete
// (or when run_results failed: the manifest pass then stops waiting).
//
// Ids are held as 64-bit hashes (maphash, seeded per analysis), so that the
// manifest pass can look up a node by its raw name without allocating and
// keep a node for later in 24 bytes; two ids of one pair colliding is a
// 2^-64 event per pair of ids.
type reportedSet struct {
	seed maphash.Seed
	mu   sync.RWMutex
	ids  map[uint64]int // the status class of each reported id
	done chan struct{}
}

func newReportedSet() *reportedSet {
	return &reportedSet{seed: maphash.MakeSeed(), ids: map[uint64]int{}, done: make(chan struct{})}
}

// hash is the key of id in the set and in manifestData.details.
func (s *reportedSet) hash(id string) uint64 { return maphash.String(s.seed, id) }

// hashBytes is hash for an id held as bytes.
func (s *reportedSet) hashBytes(id []byte) uint64 { return maphash.Bytes(s.seed, id) }

// add notes a reported id with its status class; the first class stays.
func (s *reportedSet) add(id string, class int) {
	h := s.hash(id)
	s.mu.Lock()
	if _, ok := s.ids[h]; !ok {
		s.ids[h] = class
	}
	s.mu.Unlock()
}

func (s *reportedSet) has(id string) bool {
	_, ok := s.class(s.hash(id))
	return ok
}

// class returns the status class of the reported id of hash h.
func (s *reportedSet) class(h uint64) (int, bool) {
	s.mu.RLock()
	c, ok := s.ids[h]
	s.mu.RUnlock()
	return c, ok
}

// classDone is class for a caller that has seen the set complete: the set
// is no longer written then, so it takes no lock (the manifest pass asks
// once per node, while run_results may still be adding).
func (s *reportedSet) classDone(h uint64) (int, bool) {
	c, ok := s.ids[h]
	return c, ok
}

func (s *reportedSet) complete() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// readRunResults streams run_results.json. Each reported id is published to
// set as soon as its result has been read.
func readRunResults(ctx context.Context, r io.Reader, file string, limit int64, set *reportedSet) (*runResults, error) {
	hint := 0
	if f, ok := r.(interface{ Stat() (os.FileInfo, error) }); ok {
		if fi, err := f.Stat(); err == nil {
			hint = int(min(fi.Size()/bytesPerResult, 1<<20))
		}
	}
	r, err := sniffEncoding(r)
	if err != nil {
		return nil, classify(file, 0, err)
	}
	lr := io.Reader(newLimitReader(r, limit, LimitRunResults))
	if !readsFromMemory(lr) {
		// jsontext reads about 4 KB at a time: a read system call per
		// 4 KB cost more than the copy from a buffer (see MemoryReader).
		lr = bufio.NewReaderSize(lr, runResultsBuffer)
	}
	dec := jsontext.NewDecoder(lr, decoderOptions...)
	rr, err := decodeRunResults(ctx, dec, set, hint)
	if err != nil {
		return nil, classify(file, dec.InputOffset(), err)
	}
	return rr, nil
}

// runResultsBuffer is the size of the reads of run_results from a file.
const runResultsBuffer = 64 << 10

// bytesPerResult is a high estimate of a result's size in run_results, to
// size the set of ids met from the file size without oversizing it.
const bytesPerResult = 400

func decodeRunResults(ctx context.Context, dec *jsontext.Decoder, set *reportedSet, hint int) (*runResults, error) {
	rr := &runResults{counts: map[string]int{}, shape: "flat"}
	tok, err := dec.ReadToken()
	if err == io.EOF {
		return nil, ErrEmpty
	}
	if err != nil {
		return nil, err
	}
	if tok.Kind() != '{' {
		return nil, wrongArtifact("run_results must be a JSON object, this file holds a JSON %s", kindName(tok.Kind()))
	}
	sawResults := false
	var scratch []byte
	for dec.PeekKind() != '}' {
		name, err := readName(dec, scratch)
		if err != nil {
			return nil, err
		}
		switch string(name) {
		case "metadata":
			if rr.meta, err = readMetadata(dec); err != nil {
				return nil, err
			}
		case "results":
			sawResults = true
			if err := readResults(ctx, dec, rr, set, hint); err != nil {
				return nil, err
			}
		case "elapsed_time":
			if rr.elapsed, err = looseFloat(dec); err != nil {
				return nil, err
			}
		case "generated_at":
			// Pre-0.19 files put it at the top level.
			if rr.meta.GeneratedAt, err = looseString(dec); err != nil {
				return nil, err
			}
		case "nodes", "parent_map", "child_map", "macros", "sources":
			return nil, manifestInRunResults(name)
		default:
			if err := dec.SkipValue(); err != nil {
				return nil, err
			}
		}
	}
	if err := endObject(dec); err != nil {
		return nil, err
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		if err == nil {
			err = wrongArtifact("more than one JSON value in the file")
		}
		return nil, err
	}
	if !sawResults {
		return nil, noResults()
	}
	return rr, nil
}

func readResults(ctx context.Context, dec *jsontext.Decoder, rr *runResults, set *reportedSet, hint int) error {
	if dec.PeekKind() != '[' {
		return wrongArtifact("\"results\" is a %s, not an array: this JSON is not a dbt run_results", kindName(dec.PeekKind()))
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	// Hashes of every unique_id met, to count a node listed twice once.
	seed := maphash.MakeSeed()
	seen := newHashSet(hint)
	var idBuf []byte
	for i := 0; dec.PeekKind() != ']'; i++ {
		if i%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		res, ok, err := readResult(dec, seed, &idBuf)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if res.UniqueID != "" {
			res.idHash, res.hasHash = maphash.String(seed, res.UniqueID), true
		}
		if res.hasHash {
			if !seen.add(res.idHash) {
				if rr.dups++; rr.firstDup == "" {
					rr.firstDup = res.UniqueID
					if rr.firstDup == "" {
						rr.firstDup = validUTF8(string(idBuf))
					}
				}
				continue
			}
		}
		if res.Embedded != nil {
			rr.shape = "embedded-node"
		}
		rr.total++
		rr.counts[res.Status]++
		if class := classOf(res.Status); class != classNone {
			set.add(res.UniqueID, class)
			rr.reported = append(rr.reported, res)
		}
	}
	_, err := dec.ReadToken()
	return err
}

// hashSet is a set of 64-bit hashes: an open-addressing table with linear
// probing, at most half full. The hashes are maphash values, uniform, so
// their low bits place them; 0 marks an empty slot, and the hash 0 is kept
// aside. It costs a third of the time of a map[uint64]struct{} on the
// results of a big run, where it was a fifth of the reading.
type hashSet struct {
	slots   []uint64
	n       int
	hasZero bool
}

func newHashSet(hint int) *hashSet {
	size := 1024
	for size < 2*hint {
		size *= 2
	}
	return &hashSet{slots: make([]uint64, size)}
}

// add adds h and reports whether it was new.
func (s *hashSet) add(h uint64) bool {
	if h == 0 {
		was := s.hasZero
		s.hasZero = true
		return !was
	}
	mask := len(s.slots) - 1
	i := int(h) & mask
	for ; s.slots[i] != 0; i = (i + 1) & mask {
		if s.slots[i] == h {
			return false
		}
	}
	s.slots[i] = h
	if s.n++; 2*s.n > len(s.slots) {
		s.grow()
	}
	return true
}

// grow doubles the table.
func (s *hashSet) grow() {
	old := s.slots
	s.slots = make([]uint64, 2*len(old))
	mask := len(s.slots) - 1
	for _, h := range old {
		if h == 0 {
			continue
		}
		i := int(h) & mask
		for s.slots[i] != 0 {
			i = (i + 1) & mask
		}
		s.slots[i] = h
	}
}

// readResult reads one result object. It returns ok false for a non-object
// item, which is skipped. The unique_id of a result that is not reported is
// not kept but hashed, and its text left in idBuf (to name a duplicate). The
// result is returned by value: most are not
// kept, and none should cost an allocation.
func readResult(dec *jsontext.Decoder, seed maphash.Seed, idBuf *[]byte) (res result, ok bool, err error) {
	if ok, err = expectObject(dec); !ok || err != nil {
		return res, false, err
	}
	var (
		statusSeen, flatStatus bool
		errText                string
		skip, fail, warn       bool
		scratch                []byte
	)
	// boring is true once a flat status says the result is not reported:
	// its other fields are then skipped unread.
	boring := false
	for dec.PeekKind() != '}' {
		name, err := readName(dec, scratch)
		if err != nil {
			return res, false, err
		}
		switch string(name) {
		case "unique_id", "message", "failures", "execution_time", "compiled_code", "compiled_sql", "relation_name":
			if boring {
				if string(name) == "unique_id" {
					// Not kept, but hashed to spot duplicates.
					var v jsontext.Value
					if v, err = dec.ReadValue(); err == nil {
						if id := rawID(v); len(id) > 0 {
							res.idHash, res.hasHash = maphash.Bytes(seed, id), true
							*idBuf = append((*idBuf)[:0], id...)
						}
					}
					break
				}
				err = dec.SkipValue()
				break
			}
			switch string(name) {
			case "unique_id":
				res.UniqueID, err = looseString(dec)
			case "message":
				res.Message, err = looseString(dec)
			case "failures":
				res.Failures, res.FailuresText, err = looseFailures(dec)
			case "execution_time":
				res.ExecutionTime, err = looseFloat(dec)
			case "relation_name":
				res.RelationName, err = looseString(dec)
			default:
				res.CompiledCode, err = looseString(dec)
			}
		case "status":
			statusSeen = true
			k := dec.PeekKind()
			res.Status, err = readStatus(dec)
			flatStatus = k == '"'
			boring = flatStatus && classOf(res.Status) == classNone
			if k == '0' && res.Failures == nil {
				// dbt ≤0.18 tests: status is the number of failing rows.
				if n, perr := strconv.ParseInt(res.Status, 10, 64); perr == nil {
					res.Failures = &n
				}
			}
		case "node":
			var v jsontext.Value
			if v, err = dec.ReadValue(); err == nil && v.Kind() == '{' {
				res.Embedded = parseDetail(v, true)
			}
		case "error":
			errText, err = looseString(dec)
		case "skip":
			skip, err = looseBool(dec)
		case "fail":
			fail, err = looseBool(dec)
		case "warn":
			warn, err = looseBool(dec)
		default:
			err = dec.SkipValue()
		}
		if err != nil {
			return res, false, err
		}
	}
	if err := endObject(dec); err != nil {
		return res, false, err
	}
	if res.Embedded != nil && res.UniqueID == "" {
		// Pre-0.19 shape (also dbt 0.19.0a1, whose header says v1): the
		// status field is SQL status text or null; the outcome is in
		// error/skip/fail/warn.
		res.UniqueID = res.Embedded.UniqueID
		raw := res.Status
		switch {
		case errText != "":
			res.Status = "error"
		case skip:
			res.Status = "skipped"
		case fail:
			res.Status = "fail"
		case warn:
			res.Status = "warn"
		case res.Embedded.ResourceType == "test" || strings.HasPrefix(res.UniqueID, "test."):
			res.Status = "pass"
		default:
			res.Status = "success"
		}
		if raw != res.Status {
			res.RawStatus = raw
		}
		if res.Message == "" {
			res.Message = errText
		}
		if res.CompiledCode == "" {
			res.CompiledCode = res.Embedded.CompiledCode
		}
	} else if res.Message == "" && errText != "" {
		res.Message = errText
	}
	if !statusSeen && res.Embedded == nil {
		res.Status = ""
	}
	if classOf(res.Status) == classSkipped {
		res.CompiledCode = "" // a skipped node never ran it
	}
	res.CompiledCode, res.CompiledCodeTruncated = boundCode(res.CompiledCode)
	return res, true, nil
}

// rawID returns the text of a unique_id value read raw: a string's content
// (unescaped when it holds escapes), a number's text, else nil.
func rawID(v jsontext.Value) []byte {
	switch v.Kind() {
	case '"':
		if bytes.IndexByte(v, '\\') < 0 {
			return v[1 : len(v)-1]
		}
		b, _ := jsontext.AppendUnquote(nil, v)
		return b
	case '0', 't', 'f':
		return v
	}
	return nil
}

// boundCode cuts compiled code to MaxCompiledCodeBytes on a character
// boundary and says whether it did.
func boundCode(s string) (string, bool) {
	if len(s) <= MaxCompiledCodeBytes {
		return s, false
	}
	n := MaxCompiledCodeBytes
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return strings.Clone(s[:n]), true // not the whole string behind it
}

// readStatus reads a status without allocating for the common ones.
func readStatus(dec *jsontext.Decoder) (string, error) {
	if dec.PeekKind() != '"' {
		return looseString(dec)
	}
	v, err := dec.ReadValue()
	if err != nil {
		return "", err
	}
	switch string(v) {
	case `"success"`:
		return "success", nil
	case `"pass"`:
		return "pass", nil
	case `"error"`:
		return "error", nil
	case `"fail"`:
		return "fail", nil
	case `"warn"`:
		return "warn", nil
	case `"skipped"`:
		return "skipped", nil
	}
	return looseValueString(v), nil
}

// looseBool reads true, a non-zero number or a non-empty string as true.
func looseBool(dec *jsontext.Decoder) (bool, error) {
	s, err := looseString(dec)
	if err != nil {
		return false, err
	}
	switch s {
	case "", "false", "0", "null":
		return false, nil
	}
	return true, nil
}

func kindName(k jsontext.Kind) string {
	switch k {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case '0':
		return "number"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "value"
}
