package artifacts

import (
	"io"
	"sync"
)

// MemoryReader is implemented by readers whose Read copies bytes already in
// memory and makes no system call, such as the fetcher's stream of a
// download that is still arriving. The manifest pass does not read ahead of
// such a reader: the read-ahead would hide no system call and only add a
// copy and up to 1.25 MB of buffers per stream.
type MemoryReader interface {
	io.Reader
	// ReadsFromMemory reports whether Read only copies from memory.
	ReadsFromMemory() bool
}

// readsFromMemory looks through the size limit (and, as a MemoryReader
// itself, sniffEncoding's reader) for a MemoryReader.
func readsFromMemory(r io.Reader) bool {
	if l, ok := r.(*limitReader); ok {
		r = l.r
	}
	m, ok := r.(MemoryReader)
	return ok && m.ReadsFromMemory()
}

// prefetchReader reads ahead in its own goroutine, so that the copy from the
// kernel overlaps the scan of the previous chunk: on a 2-core machine the
// manifest pass is the critical path, and this takes the read syscalls off it.
// Over a MemoryReader it reads straight through instead (see MemoryReader).
// Close must be called to stop the goroutine.
type prefetchReader struct {
	direct io.Reader // set when reading straight through: no goroutine
	chunks chan []byte
	free   chan []byte
	stop   chan struct{}
	once   sync.Once
	cur    []byte // unread part of the chunk being consumed
	buf    []byte // the chunk cur belongs to, to recycle
	err    error
	errc   chan error
}

const (
	prefetchChunk = 256 << 10
	prefetchDepth = 3
)

func newPrefetchReader(r io.Reader) *prefetchReader {
	if readsFromMemory(r) {
		return &prefetchReader{direct: r}
	}
	p := &prefetchReader{
		chunks: make(chan []byte, prefetchDepth),
		free:   make(chan []byte, prefetchDepth+2),
		stop:   make(chan struct{}),
		errc:   make(chan error, 1),
	}
	go p.loop(r)
	return p
}

func (p *prefetchReader) loop(r io.Reader) {
	defer close(p.chunks)
	// Buffers are made as needed, growing from small to prefetchChunk, so a
	// small file costs a few KB and a big one 1.25 MB (chunks of 1 MiB held
	// 5 MB for no measurable gain: the syscalls are still off the critical
	// path).
	made, size := 0, 16<<10
	for {
		var b []byte
		if made < prefetchDepth+2 {
			select {
			case b = <-p.free:
			default:
				b = make([]byte, size)
				made++
			}
		} else {
			select {
			case b = <-p.free:
			case <-p.stop:
				return
			}
		}
		if cap(b) < size {
			b = make([]byte, size)
		}
		n, err := io.ReadFull(r, b[:cap(b)])
		if n == cap(b) && size < prefetchChunk {
			size *= 2
		}
		if n > 0 {
			select {
			case p.chunks <- b[:n]:
			case <-p.stop:
				return
			}
		}
		if err != nil {
			if err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			p.errc <- err
			return
		}
	}
}

func (p *prefetchReader) Read(b []byte) (int, error) {
	if p.direct != nil {
		return p.direct.Read(b)
	}
	for len(p.cur) == 0 {
		if p.err != nil {
			return 0, p.err
		}
		if p.buf != nil {
			p.free <- p.buf[:cap(p.buf)]
			p.buf = nil
		}
		c, ok := <-p.chunks
		if !ok {
			p.err = <-p.errc
			return 0, p.err
		}
		p.cur, p.buf = c, c
	}
	n := copy(b, p.cur)
	p.cur = p.cur[n:]
	return n, nil
}

// Close stops the read-ahead goroutine.
func (p *prefetchReader) Close() {
	if p.direct != nil {
		return
	}
	p.once.Do(func() { close(p.stop) })
}
