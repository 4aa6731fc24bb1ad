package fetcher

import (
	"errors"
	"io"
	"sync"
	"time"
)

// errAbandoned ends a streamed analysis that could not see the artifact
// whole and in order (a failed attempt, an artifact already archived, or an
// analysis stalled too long). The analysis is then run again from the
// archived files.
var errAbandoned = errors.New("streamed analysis abandoned: analysing the archived file instead")

// Bounds of one stream.
const (
	// teeLimit is the most bytes a stream holds for its analysis; past it
	// the download waits for the analysis (backpressure), so memory does
	// not grow with the artifact.
	teeLimit = 1 << 20
	// teeStall is the longest a download waits for its analysis before the
	// stream is abandoned: the safety valve that keeps a stuck analysis
	// from ever holding a download.
	teeStall = 20 * time.Second
)

// streamTee hands a download's bytes to the command's analysis while the
// download runs, so the analysis ends moments after the last byte instead of
// starting then. When the analysis lags by teeLimit bytes the download waits
// for it.
//
// That wait cannot deadlock: an analysis reads run_results and the manifest
// in parallel and only ever waits for run_results, whose task Fetch starts
// before the manifest's (see execute) and which is never held back by the
// manifest. Anything else (the analysis returned, the stream failed, a stall
// longer than teeStall) ends the wait at once.
type streamTee struct {
	mu       sync.Mutex
	cond     sync.Cond
	chunks   []chunk
	queued   int
	wrote    bool
	detached bool // the reader is gone: writes are counted, not kept
	closed   bool
	err      error // nil: clean end (io.EOF after the chunks); else errAbandoned
	stall    time.Duration
}

// chunk is a pooled buffer: bytes [r, w) are queued.
type chunk struct {
	buf  *[]byte
	r, w int
}

// chunkFree recycles the buffers of downloads and of the tee: a 30 MB
// artifact would otherwise leave 30 MB of garbage per stream. It is a free
// list rather than a sync.Pool, which empties at every GC, so that a
// process running follow-up after follow-up (serve) does not allocate its
// buffers afresh for each. The list keeps at most chunkFreeMax buffers
// (8 MiB) for the life of the process; beyond it they are left to the GC.
var chunkFree = make(chan *[]byte, chunkFreeMax)

const chunkFreeMax = 32

// getChunk returns a buffer of downloadBuffer bytes, recycled when one is
// free.
func getChunk() *[]byte {
	select {
	case b := <-chunkFree:
		return b
	default:
		b := make([]byte, downloadBuffer)
		return &b
	}
}

// putChunk gives back a buffer from getChunk, which the caller must not
// touch again.
func putChunk(b *[]byte) {
	select {
	case chunkFree <- b:
	default:
	}
}

func newStreamTee() *streamTee {
	t := &streamTee{stall: teeStall}
	t.cond.L = &t.mu
	return t
}

// Write queues a copy of p for the reader, waiting while the queue is full.
// It always reports success: the stream is the analysis's business, never
// the download's.
func (t *streamTee) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(p) == 0 || !t.admitLocked(len(p)) {
		return len(p), nil
	}
	// Fill the last buffer before taking a new one: network reads are often
	// a few KB, and a buffer per read would cost far more than the limit.
	for rest := p; len(rest) > 0; {
		if len(t.chunks) == 0 || t.chunks[len(t.chunks)-1].w == len(*t.chunks[len(t.chunks)-1].buf) {
			t.chunks = append(t.chunks, chunk{buf: getChunk()})
		}
		c := &t.chunks[len(t.chunks)-1]
		n := copy((*c.buf)[c.w:], rest)
		c.w += n
		rest = rest[n:]
	}
	t.queued += len(p)
	t.cond.Broadcast()
	return len(p), nil
}

// hand is Write for bytes [0, n) of a buffer from getChunk, without the
// copy: the tee takes the buffer (queues it, or gives it back to chunkFree)
// and the caller must not touch it again.
func (t *streamTee) hand(b *[]byte, n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n == 0 || !t.admitLocked(n) {
		putChunk(b)
		return
	}
	if len(t.chunks) == 1 && t.chunks[0].r == t.chunks[0].w {
		// The emptied buffer Read kept for Write: not needed here.
		putChunk(t.chunks[0].buf)
		t.chunks = t.chunks[:0]
	}
	t.chunks = append(t.chunks, chunk{buf: b, w: n})
	t.queued += n
	t.cond.Broadcast()
}

// admitLocked waits while the queue cannot take n more bytes (up to the
// stall limit, then the stream is abandoned), notes that the attempt wrote,
// and reports whether the bytes are to be queued: not when the stream has
// ended or its reader is gone.
func (t *streamTee) admitLocked(n int) bool {
	if !t.closed && !t.detached && t.queued > 0 && t.queued+n > teeLimit {
		stalled := false
		timer := time.AfterFunc(t.stall, func() {
			t.mu.Lock()
			stalled = true
			t.cond.Broadcast()
			t.mu.Unlock()
		})
		for !t.closed && !t.detached && !stalled && t.queued > 0 && t.queued+n > teeLimit {
			t.cond.Wait()
		}
		timer.Stop()
		if stalled {
			t.abandonLocked()
		}
	}
	if t.closed {
		return false
	}
	t.wrote = true
	return !t.detached
}

// ReadsFromMemory implements artifacts.MemoryReader: Read only copies
// queued bytes, so the analysis reads the stream without a read-ahead.
func (t *streamTee) ReadsFromMemory() bool { return true }

// Read gives the analysis the queued bytes, io.EOF after a clean end, or
// errAbandoned.
func (t *streamTee) Read(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for t.queued == 0 && !t.closed {
		t.cond.Wait()
	}
	if t.err != nil {
		return 0, t.err
	}
	if t.queued == 0 {
		return 0, io.EOF
	}
	c := &t.chunks[0]
	n := copy(p, (*c.buf)[c.r:c.w])
	c.r += n
	if c.r == c.w {
		if len(t.chunks) == 1 {
			c.r, c.w = 0, 0 // the writer's buffer: reuse it from the start
		} else {
			putChunk(c.buf)
			t.chunks[0] = chunk{}
			t.chunks = t.chunks[1:]
		}
	}
	t.queued -= n
	t.cond.Broadcast()
	return n, nil
}

// attemptFailed abandons the stream if the failed attempt gave it bytes:
// the next attempt starts over, the analysis cannot.
func (t *streamTee) attemptFailed() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.wrote {
		t.abandonLocked()
	}
}

// finish ends the stream: cleanly when the artifact was archived from these
// very bytes, else abandoned. Later calls do nothing.
func (t *streamTee) finish(clean bool) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	if !clean {
		t.abandonLocked()
		return
	}
	t.closed = true
	t.cond.Broadcast()
}

// detach tells the stream its reader has returned (the analysis ended, maybe
// early on an error about the bytes it read): later bytes are no longer
// kept or waited for, and the stream can still end cleanly.
func (t *streamTee) detach() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.detached = true
	t.releaseLocked()
	t.cond.Broadcast()
}

// complete reports whether the stream ended cleanly.
func (t *streamTee) complete() bool {
	if t == nil {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed && t.err == nil
}

func (t *streamTee) abandonLocked() {
	t.closed, t.err = true, errAbandoned
	t.releaseLocked()
	t.cond.Broadcast()
}

func (t *streamTee) releaseLocked() {
	for _, c := range t.chunks {
		putChunk(c.buf)
	}
	t.chunks, t.queued = nil, 0
}
