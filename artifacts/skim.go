package artifacts

import (
	"bytes"
	"context"
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
// It keeps in memory only the value being kept plus one read chunk, and a
// kept value (or member name) only up to maxHold bytes: a kept value that
// grows past it is let go and skipped to its end (scan then returns a
// *heldTooBig), and a longer member name is an error. Strings and literals
// that are skipped are never held whole, however long.
type skimmer struct {
	r       io.Reader
	buf     []byte
	pos     int    // next unread byte
	mark    int64  // file offset of the start of a value being kept, or -1
	base    int64  // file offset of buf[0]
	name    []byte // the last member name read
	maxHold int    // most bytes of a kept value or member name held; 0: no limit
	dropped bool   // the value being kept outgrew maxHold and was let go
	// byteLoop keeps container on its byte loop, off blockSkip (for the
	// tests that compare the two).
	byteLoop bool
	full     bool // the last read filled the window
	eof      bool
	rerr     error
}

// heldTooBig is what scan returns for a value it was asked to keep that
// turned out longer than maxHold bytes: the value was skipped to its end,
// without being held, and the skimmer is past it.
type heldTooBig struct {
	off, size int64 // file offset and length of the value
	limit     int
}

func (e *heldTooBig) Error() string {
	return fmt.Sprintf("a value of %d bytes at byte %d is over the limit of %d bytes held per value", e.size, e.off, e.limit)
}

func (e *heldTooBig) Unwrap() error { return ErrTooLarge }

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
		if m := int(s.mark - s.base); s.mark >= 0 && m < keep {
			if s.maxHold > 0 && len(s.buf)-m >= s.maxHold {
				// The value being kept is longer than maxHold (it is not
				// complete yet): let it go, it is skipped from here on.
				s.mark, s.dropped = -1, true
			} else {
				keep = m
			}
		}
		if keep > 0 {
			n := copy(s.buf, s.buf[keep:])
			s.buf = s.buf[:n]
			s.base += int64(keep)
			s.pos -= keep
		}
		// Double the window when it is nearly full (a value being held is
		// big) or when reads keep filling it (the input is big).
		// What is held never exceeds maxHold, so neither need the window
		// exceed maxHold plus a chunk.
		if free := cap(s.buf) - len(s.buf); free < 4<<10 || (s.full && cap(s.buf) < skimChunk) {
			size := 2 * cap(s.buf)
			if lim := s.maxHold + skimChunk; s.maxHold > 0 && size > lim && lim > cap(s.buf) {
				size = lim
			}
			nb := make([]byte, len(s.buf), size)
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
// reading more input as needed. With whole, the string stays in the window
// (a member name: an error past maxHold bytes); without, s.pos moves along
// the string as it is read, so that a long string is not held (s.pos is
// then inside the string, and the caller must not read the string).
func (s *skimmer) stringEnd(whole bool) (int, error) {
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
			if whole {
				if s.maxHold > 0 && rel > s.maxHold {
					return 0, s.nameTooLong()
				}
			} else if rel > longString {
				s.pos = resumePoint(buf, start)
				rel = len(buf) - s.pos
			}
		}
		if !s.more() {
			s.pos = len(s.buf)
			return 0, s.errAt("")
		}
	}
}

// longString is the length past which a string being skipped stops being
// held in the window while its end is looked for: more than any member name
// the container scan must see whole (nodeMembers).
const longString = 64

// resumePoint returns where the search for the end of an unfinished string
// that starts at buf[start] (its opening quote) can resume after a refill,
// holding only a byte or two of it: the search treats the byte at the
// returned index as the string's opening quote, so it must have the same
// escape parity as the true start. buf holds no closing quote after start.
func resumePoint(buf []byte, start int) int {
	n := 0 // trailing backslashes
	for b := len(buf) - 1; b > start && buf[b] == '\\'; b-- {
		n++
	}
	// An even run escapes nothing after it: resume at its last byte, which
	// is not counted. An odd run escapes the next byte: keep one backslash
	// of it counted.
	if n%2 == 0 {
		return len(buf) - 1
	}
	return len(buf) - 2
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
	end, err := s.stringEnd(true)
	if err != nil {
		return nil, err
	}
	if s.maxHold > 0 && end-s.pos > s.maxHold {
		return nil, s.nameTooLong()
	}
	// Copy the name: reading the colon may move the window.
	s.name = append(s.name[:0], s.buf[s.pos+1:end-1]...)
	s.pos = end
	if err := s.want(':'); err != nil {
		return nil, err
	}
	return s.name, nil
}

func (s *skimmer) nameTooLong() error {
	return &ParseError{Offset: s.offset(), Err: &LimitError{Limit: LimitValue, Max: int64(s.maxHold)}}
}

// structural marks the bytes the container scan stops at.
var structural = [256]bool{'"': true, '{': true, '}': true, '[': true, ']': true}

// value scans the next value. With keep, it returns the value's bytes,
// valid until the next read, or a *heldTooBig when they are more than
// maxHold; without, the bytes are dropped as they are passed and nil is
// returned. Kept values do not nest.
func (s *skimmer) value(keep bool) ([]byte, error) {
	return s.scan(keep, nil)
}

// nodeMembers are the members of a manifest node the graph needs; scan
// finds them in the same pass that finds the node's end.
var nodeMembers = [...]string{"depends_on", "attached_node", "model"}

// isMemberLen says whether a name of n bytes may be one of nodeMembers
// (TestMemberLengths keeps the two in step).
func isMemberLen(n int) bool { return n == 10 || n == 13 || n == 5 }

// memberIndex returns the index in nodeMembers of name, or -1.
func memberIndex(name []byte) int {
	if isMemberLen(len(name)) {
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
		s.mark, s.dropped = start, false
		defer func() { s.mark = -1 }()
	}
	switch {
	case c == '"':
		end, err := s.stringEnd(false)
		if err != nil {
			return nil, err
		}
		s.pos = end
	case c == '{' || c == '[':
		if err := s.container(start, found); err != nil {
			return nil, err
		}
	case c == '-' || c == 't' || c == 'f' || c == 'n' || (c >= '0' && c <= '9'):
		if err := s.literalEnd(); err != nil {
			return nil, err
		}
	default:
		return nil, s.errAt("a value")
	}
	if !keep {
		return nil, nil
	}
	if s.dropped || s.maxHold > 0 && s.offset()-start > int64(s.maxHold) {
		return nil, &heldTooBig{off: start, size: s.offset() - start, limit: s.maxHold}
	}
	return s.buf[int(start-s.base):s.pos], nil
}

// container advances past the object or array at s.pos. It is the hot loop
// of the manifest pass, so it works on locals and handles strings inline,
// leaving the loop only to read more input or to look at a member name at
// depth 1 (when found is not nil).
func (s *skimmer) container(start int64, found *[len(nodeMembers)]int) error {
	depth := 0
	inString := false // s.pos is inside a long string, at a resumePoint
	// Below depth target nothing needs looking at: blockSkip goes through
	// it a block at a time (member names are looked at on depth 1).
	target := 0
	if found != nil {
		target = 1
	}
	blocks := haveBlockMasks && !s.byteLoop
	for {
		buf, i := s.buf, s.pos
		// blockMembers handles depth 1 of a node until it stops at a block
		// boundary; the rest of this window is the byte loop's.
		members := blocks && found != nil
		if inString {
			// The rest of a long string: it cannot be a member name.
			j, complete := closingQuote(buf, i)
			if !complete {
				s.pos = resumePoint(buf, i)
				if !s.more() {
					s.pos = len(s.buf)
					return s.errAt("")
				}
				continue
			}
			inString, i = false, j+1
		}
		if blocks && depth > target {
			var done bool
			if i, depth, done = blockSkip(buf, i, depth, target); done && depth == 0 {
				s.pos = i
				return nil
			}
		}
		for i < len(buf) {
			if members && depth == 1 {
				j, d, k, stop := blockMembers(buf, i, depth)
				switch stop {
				case stopEnd:
					s.pos = j
					return nil
				case stopName:
					// As below: a member name if a colon follows.
					s.pos = j
					if c, err := s.peek(); err == nil && c == ':' {
						found[k] = int(s.offset() + 1 - start)
					}
					buf, i = s.buf, s.pos
					continue
				}
				i, depth, members = j, d, false
				continue
			}
			c := buf[i]
			if !structural[c] {
				i++
				continue
			}
			if c != '"' {
				i++
				if c == '{' || c == '[' {
					if depth++; blocks && depth > target {
						var done bool
						if i, depth, done = blockSkip(buf, i, depth, target); done && depth == 0 {
							s.pos = i
							return nil
						}
					}
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
				// Refill, then rescan a short string from its start (it may
				// be a member name); a long one is not held but resumed.
				if len(buf)-i > longString {
					inString, i = true, resumePoint(buf, i)
				}
				break
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

// closingQuote returns the index of the quote that closes the string whose
// opening quote is buf[i], and whether there is one in buf.
func closingQuote(buf []byte, i int) (int, bool) {
	for j := i + 1; ; {
		k := quoteIndex(buf, j)
		if k >= len(buf) {
			return k, false
		}
		n := 0
		for b := k - 1; b > i && buf[b] == '\\'; b-- {
			n++
		}
		if n%2 == 0 {
			return k, true
		}
		j = k + 1
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

// literalEnd advances past a number, true, false or null, and checks it is
// one: a bare word such as `nope` or `not json` is ErrNotJSON. (Literals
// inside a skipped object or array are not looked at: that is Validate's
// job.)
func (s *skimmer) literalEnd() error {
	start := s.offset()
	var word string
	switch s.buf[s.pos] {
	case 't':
		word = "true"
	case 'f':
		word = "false"
	case 'n':
		word = "null"
	}
	n, state, ok := 0, numStart, true
	for {
		for s.pos < len(s.buf) {
			c := s.buf[s.pos]
			switch c {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return s.checkLiteral(start, ok && (word == "" && state.final() || word != "" && n == len(word)))
			}
			if word != "" {
				ok = ok && n < len(word) && c == word[n]
			} else {
				state = state.next(c)
			}
			n++
			s.pos++
		}
		if !s.more() {
			if s.rerr != nil {
				return s.errAt("")
			}
			return s.checkLiteral(start, ok && (word == "" && state.final() || word != "" && n == len(word)))
		}
	}
}

func (s *skimmer) checkLiteral(start int64, ok bool) error {
	if ok {
		return nil
	}
	return &ParseError{Offset: start, Err: fmt.Errorf("%w: a bare word where a value is expected (only true, false, null and numbers are written without quotes)", ErrNotJSON)}
}

// numState is the state of a small automaton for JSON's number grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
type numState uint8

const (
	numStart    numState = iota
	numMinus             // after the sign
	numZero              // a leading 0
	numInt               // integer digits
	numDot               // after the point
	numFrac              // fraction digits
	numExp               // after e or E
	numExpSign           // after the exponent's sign
	numExpDigit          // exponent digits
	numBad
)

func (st numState) final() bool {
	return st == numZero || st == numInt || st == numFrac || st == numExpDigit
}

func (st numState) next(c byte) numState {
	digit := c >= '0' && c <= '9'
	switch st {
	case numStart:
		switch {
		case c == '-':
			return numMinus
		case c == '0':
			return numZero
		case digit:
			return numInt
		}
	case numMinus:
		switch {
		case c == '0':
			return numZero
		case digit:
			return numInt
		}
	case numZero, numInt:
		switch {
		case digit && st == numInt:
			return numInt
		case c == '.':
			return numDot
		case c == 'e' || c == 'E':
			return numExp
		}
	case numDot, numFrac:
		switch {
		case digit:
			return numFrac
		case st == numFrac && (c == 'e' || c == 'E'):
			return numExp
		}
	case numExp:
		switch {
		case c == '+' || c == '-':
			return numExpSign
		case digit:
			return numExpDigit
		}
	case numExpSign, numExpDigit:
		if digit {
			return numExpDigit
		}
	}
	return numBad
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

// isTooBig says whether err is a value over the size one may hold.
func isTooBig(err error) bool {
	_, ok := err.(*heldTooBig)
	return ok
}

// ignoreTooBig drops the error of a value too big to hold.
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

// skimMembers walks the object that comes next member by member (a
// value that is not an object is skipped), calling fn with each member's
// unescaped name; fn must consume the value.
func skimMembers(ctx context.Context, sk *skimmer, fn func(name []byte) error) error {
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
		if len(name) > 0 && bytes.IndexByte(name, '\\') >= 0 {
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
