package artifacts

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
)

// skimmer is a streaming JSON scanner for the manifest's hot path. It finds
// where values begin and end, with string and bracket matching, but does not
// validate what it skips: that is what makes skipping a 200 MB manifest
// cheap. Values the analysis decodes (metadata and the nodes it reports) go
// through jsontext, which validates them; Options.Validate checks every node.
//
// It keeps in memory only the value being read plus one read chunk.
type skimmer struct {
	r    io.Reader
	buf  []byte
	pos  int    // next unread byte
	mark int64  // file offset of the start of a value being kept, or -1
	base int64  // file offset of buf[0]
	name []byte // the last member name read
	full bool   // the last read filled the window
	eof  bool
	rerr error
}

// The window starts small, so that analysing a small file costs little, and
// grows to skimChunk reads for big ones.
const (
	skimFirst = 16 << 10
	skimChunk = 256 << 10
)

func newSkimmer(r io.Reader) *skimmer {
	return &skimmer{r: r, buf: make([]byte, 0, skimFirst), mark: -1}
}

// offset is the file offset of the next unread byte.
func (s *skimmer) offset() int64 { return s.base + int64(s.pos) }

// more reads another chunk, dropping consumed bytes first. It reports false
// at the end of input (s.rerr holds a read error, if any).
func (s *skimmer) more() bool {
	for !s.eof {
		keep := s.pos
		if s.mark >= 0 && int(s.mark-s.base) < keep {
			keep = int(s.mark - s.base)
		}
		if keep > 0 {
			n := copy(s.buf, s.buf[keep:])
			s.buf = s.buf[:n]
			s.base += int64(keep)
			s.pos -= keep
		}
		// Double the window when it is nearly full (a value being held is
		// big) or when reads keep filling it (the input is big).
		if free := cap(s.buf) - len(s.buf); free < 4<<10 || (s.full && cap(s.buf) < skimChunk) {
			nb := make([]byte, len(s.buf), 2*cap(s.buf))
			copy(nb, s.buf)
			s.buf = nb
		}
		n, err := s.r.Read(s.buf[len(s.buf):cap(s.buf)])
		s.full = n == cap(s.buf)-len(s.buf)
		s.buf = s.buf[:len(s.buf)+n]
		if err != nil {
			s.eof = true
			if err != io.EOF {
				s.rerr = err
			}
		}
		if n > 0 {
			return true
		}
	}
	return false
}

// errAt returns the error for the current offset. At the end of input it is
// the read error, or ErrTruncated.
func (s *skimmer) errAt(expected string) error {
	if s.pos >= len(s.buf) {
		if s.rerr != nil {
			return &ParseError{Offset: s.offset(), Err: fmt.Errorf("read: %w", s.rerr)}
		}
		return &ParseError{Offset: s.offset(), Err: ErrTruncated}
	}
	return &ParseError{Offset: s.offset(), Err: fmt.Errorf("%w: unexpected %q, expected %s", ErrNotJSON, s.buf[s.pos], expected)}
}

// peek skips whitespace and returns the next byte without consuming it, or
// io.EOF at the end of input.
func (s *skimmer) peek() (byte, error) {
	for {
		for s.pos < len(s.buf) {
			switch c := s.buf[s.pos]; c {
			case ' ', '\t', '\n', '\r':
				s.pos++
			default:
				return c, nil
			}
		}
		if !s.more() {
			if s.rerr != nil {
				return 0, s.errAt("")
			}
			return 0, io.EOF
		}
	}
}

// want consumes byte c after whitespace.
func (s *skimmer) want(c byte) error {
	b, err := s.peek()
	if err == io.EOF {
		return s.errAt(fmt.Sprintf("%q", c))
	}
	if err != nil {
		return err
	}
	if b != c {
		return s.errAt(fmt.Sprintf("%q", c))
	}
	s.pos++
	return nil
}

// next consumes the separator after a member or item: it reports true when
// another member follows (a comma) and false at the closing byte.
func (s *skimmer) next(closing byte) (bool, error) {
	b, err := s.peek()
	if err == io.EOF {
		return false, s.errAt(fmt.Sprintf("',' or %q", closing))
	}
	if err != nil {
		return false, err
	}
	switch b {
	case ',':
		s.pos++
		return true, nil
	case closing:
		s.pos++
		return false, nil
	}
	return false, s.errAt(fmt.Sprintf("',' or %q", closing))
}

// stringEnd returns the index just past the string that starts at s.pos,
// reading more input as needed. The string stays in the window.
func (s *skimmer) stringEnd() (int, error) {
	rel := 1 // offset from s.pos where the search resumes
	for {
		buf, start := s.buf, s.pos
		i := start + rel
		if i <= len(buf) {
			// Most strings are short: a plain loop beats IndexByte's setup.
			j := i
			for j < len(buf) && j < i+16 && buf[j] != '"' {
				j++
			}
			if j == i+16 && j < len(buf) {
				if k := bytes.IndexByte(buf[j:], '"'); k >= 0 {
					j += k
				} else {
					j = len(buf)
				}
			}
			if j < len(buf) {
				n := 0
				for b := j - 1; b > start && buf[b] == '\\'; b-- {
					n++
				}
				if n%2 == 0 {
					return j + 1, nil
				}
				rel = j + 1 - start
				continue
			}
			rel = len(buf) - start
		}
		if !s.more() {
			s.pos = len(s.buf)
			return 0, s.errAt("")
		}
	}
}

// key reads an object member name and its colon. The name (escapes kept)
// is valid until the next key.
func (s *skimmer) key() ([]byte, error) {
	if b, err := s.peek(); err != nil || b != '"' {
		if err == nil || err == io.EOF {
			return nil, s.errAt("a member name")
		}
		return nil, err
	}
	end, err := s.stringEnd()
	if err != nil {
		return nil, err
	}
	// Copy the name: reading the colon may move the window.
	s.name = append(s.name[:0], s.buf[s.pos+1:end-1]...)
	s.pos = end
	if err := s.want(':'); err != nil {
		return nil, err
	}
	return s.name, nil
}

// hold keeps the bytes from the current offset in the window until the
// returned function is called.
func (s *skimmer) hold() func() {
	old := s.mark
	if old < 0 {
		s.mark = s.offset()
	}
	return func() { s.mark = old }
}

// structural marks the bytes the container scan stops at.
var structural = [256]bool{'"': true, '{': true, '}': true, '[': true, ']': true}

// value scans the next value. With keep, it returns the value's bytes,
// valid until the next read; without, the bytes are dropped as they are
// passed and nil is returned.
func (s *skimmer) value(keep bool) ([]byte, error) {
	return s.scan(keep, nil)
}

// nodeMembers are the members of a manifest node the graph needs; scan
// finds them in the same pass that finds the node's end.
var nodeMembers = [...]string{"depends_on", "attached_node", "model"}

// memberIndex returns the index in nodeMembers of name, or -1.
func memberIndex(name []byte) int {
	switch len(name) {
	case 10, 13, 5:
		for i, m := range nodeMembers {
			if string(name) == m {
				return i
			}
		}
	}
	return -1
}

// scan is value; when found is not nil and the value is an object, it also
// records in found[k] the offset, relative to the value's start, of the
// value of member nodeMembers[k] (or -1 when absent).
func (s *skimmer) scan(keep bool, found *[len(nodeMembers)]int) ([]byte, error) {
	if found != nil {
		for i := range found {
			found[i] = -1
		}
	}
	c, err := s.peek()
	if err == io.EOF {
		return nil, s.errAt("a value")
	}
	if err != nil {
		return nil, err
	}
	start := s.offset()
	if keep {
		defer s.hold()()
	}
	switch {
	case c == '"':
		end, err := s.stringEnd()
		if err != nil {
			return nil, err
		}
		s.pos = end
	case c == '{' || c == '[':
		if err := s.container(start, found); err != nil {
			return nil, err
		}
	case c == '-' || c == 't' || c == 'f' || c == 'n' || (c >= '0' && c <= '9'):
		s.literalEnd()
	default:
		return nil, s.errAt("a value")
	}
	if !keep {
		return nil, nil
	}
	return s.buf[int(start-s.base):s.pos], nil
}

// container advances past the object or array at s.pos. It is the hot loop
// of the manifest pass, so it works on locals and handles strings inline,
// leaving the loop only to read more input or to look at a member name at
// depth 1 (when found is not nil).
func (s *skimmer) container(start int64, found *[len(nodeMembers)]int) error {
	depth := 0
	for {
		buf, i := s.buf, s.pos
		for i < len(buf) {
			c := buf[i]
			if !structural[c] {
				i++
				continue
			}
			if c != '"' {
				i++
				if c == '{' || c == '[' {
					depth++
					continue
				}
				if depth--; depth == 0 {
					s.pos = i
					return nil
				}
				continue
			}
			// A string: find its closing quote, short strings by a plain
			// loop, long ones by IndexByte.
			j, complete := i+1, false
			for {
				k := quoteIndex(buf, j)
				if k >= len(buf) {
					break // need more input
				}
				n := 0
				for b := k - 1; b > i && buf[b] == '\\'; b-- {
					n++
				}
				if n%2 == 0 {
					j, complete = k, true
					break
				}
				j = k + 1
			}
			if !complete {
				break // refill, then rescan this string from its start
			}
			if found != nil && depth == 1 {
				if k := memberIndex(buf[i+1 : j]); k >= 0 {
					// A member name if a colon follows. peek may read more;
					// the value is held, so offsets stay valid.
					s.pos = j + 1
					if c, err := s.peek(); err == nil && c == ':' {
						found[k] = int(s.offset() + 1 - start)
					}
					buf, i = s.buf, s.pos
					continue
				}
			}
			i = j + 1
		}
		s.pos = i
		if !s.more() {
			s.pos = len(s.buf)
			return s.errAt("")
		}
	}
}

// quoteIndex returns the index of the first '"' at or after j in buf, or
// len(buf). Most strings are short: the first 32 bytes are tested eight at a
// time with word arithmetic, the rest with IndexByte.
func quoteIndex(buf []byte, j int) int {
	const (
		lo    = 0x0101010101010101
		hi    = 0x8080808080808080
		quote = 0x2222222222222222
	)
	k := j
	for ; k+8 <= len(buf) && k < j+32; k += 8 {
		x := binary.LittleEndian.Uint64(buf[k:]) ^ quote
		// The lowest flagged byte is the first zero byte of x: the first
		// quote (flags above it may be false positives, never below).
		if t := (x - lo) &^ x & hi; t != 0 {
			return k + bits.TrailingZeros64(t)>>3
		}
	}
	if k < j+32 {
		for ; k < len(buf); k++ {
			if buf[k] == '"' {
				return k
			}
		}
		return k
	}
	if x := bytes.IndexByte(buf[k:], '"'); x >= 0 {
		return k + x
	}
	return len(buf)
}

// literalEnd advances past a number, true, false or null.
func (s *skimmer) literalEnd() {
	for {
		for s.pos < len(s.buf) {
			switch s.buf[s.pos] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return
			}
			s.pos++
		}
		if !s.more() {
			return
		}
	}
}

// end checks that nothing but whitespace follows the top-level value.
func (s *skimmer) end() error {
	_, err := s.peek()
	switch {
	case err == io.EOF:
		return nil
	case err != nil:
		return err
	}
	return &ParseError{Offset: s.offset(), Err: wrongArtifact("more than one JSON value in the file")}
}
