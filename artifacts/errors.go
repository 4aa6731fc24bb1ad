package artifacts

import (
	"errors"
	"fmt"
	"io"

	"github.com/boltfetch/boltfetch/internal/sniff"

	"github.com/go-json-experiment/json/jsontext"
)

// Sentinel causes carried by a [ParseError]; test them with errors.Is.
var (
	// ErrEmpty means the file holds no JSON value at all (0 bytes or blanks).
	ErrEmpty = errors.New("the file is empty")
	// ErrTruncated means the JSON ends before its last value is closed,
	// usually an interrupted download or a full disk.
	ErrTruncated = errors.New("the file is truncated (the JSON ends before it is complete)")
	// ErrNotJSON means the bytes are not valid JSON.
	ErrNotJSON = errors.New("the file is not valid JSON")
	// ErrTooLarge means the file, or a value in it that must be held in
	// memory (Options.MaxNodeBytes), is larger than the configured limit.
	ErrTooLarge = errors.New("larger than the configured limit")
	// ErrWrongArtifact means the JSON is valid but is not the expected
	// artifact: a run_results given as the manifest, the reverse, or some
	// other JSON document. The ParseError's message says which.
	ErrWrongArtifact = errors.New("the file is not the expected dbt artifact")
	// ErrEncoding means the file is not UTF-8 JSON but UTF-16, UTF-32, UTF-8
	// with a byte order mark, or compressed. The cause is an *EncodingError
	// naming which, at offset 0.
	ErrEncoding = errors.New("the file is not UTF-8 JSON")
)

// EncodingError names the encoding or compression of an artifact that is
// not UTF-8 JSON, as internal/sniff tells it from the first bytes. It
// matches ErrEncoding.
type EncodingError struct {
	// Encoding is "UTF-16LE", "UTF-16BE", "UTF-32LE", "UTF-32BE", "UTF-8
	// with BOM", "gzip", "zstd", "bzip2", "xz" or "zip".
	Encoding string
}

// Error says what the file is and what dbt writes instead.
func (e *EncodingError) Error() string {
	switch e.Encoding {
	case "gzip", "zstd", "bzip2", "xz", "zip":
		return fmt.Sprintf("the file is %s-compressed, not JSON: decompress it first", e.Encoding)
	case "UTF-8 with BOM":
		return "the file is UTF-8 with BOM (a byte order mark), which JSON does not allow: remove the first 3 bytes (dbt writes UTF-8 without one)"
	}
	return fmt.Sprintf("the file is encoded as %s, not UTF-8: convert it to UTF-8 (dbt writes UTF-8)", e.Encoding)
}

// Is makes an EncodingError match ErrEncoding.
func (e *EncodingError) Is(target error) bool { return target == ErrEncoding }

// sniffEncoding reads the first bytes of r and fails with an *EncodingError
// when they say the file is not UTF-8 JSON; otherwise it returns a reader
// that gives back every byte of r.
func sniffEncoding(r io.Reader) (io.Reader, error) {
	head := make([]byte, sniff.PrefixLen)
	n, err := io.ReadFull(r, head)
	head = head[:n]
	if enc := sniff.Encoding(head); enc != "" {
		return nil, &EncodingError{Encoding: enc}
	}
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, err
	}
	return &sniffedReader{head: head, r: r}, nil
}

// sniffedReader gives back the bytes sniffEncoding read, then the rest of r.
// It is a MemoryReader when r is one, so that the manifest pass still skips
// its read-ahead over a download's stream (an io.MultiReader hid that, and
// each of a follow-up's streamed analyses held 5 MB of read-ahead buffers).
type sniffedReader struct {
	head []byte
	r    io.Reader
}

func (s *sniffedReader) Read(b []byte) (int, error) {
	if len(s.head) > 0 {
		n := copy(b, s.head)
		s.head = s.head[n:]
		return n, nil
	}
	return s.r.Read(b)
}

// ReadsFromMemory implements MemoryReader: it is r's answer.
func (s *sniffedReader) ReadsFromMemory() bool { return readsFromMemory(s.r) }

// ParseError reports an artifact that could not be read. File names the file
// (its path, or "manifest"/"run_results" for plain readers) and Offset the
// byte offset in it where reading stopped.
type ParseError struct {
	File   string
	Offset int64
	Err    error
}

// Error names the file and the byte offset, then the cause.
func (e *ParseError) Error() string {
	return fmt.Sprintf("%s: at byte %d: %v", e.File, e.Offset, e.Err)
}

// Unwrap returns the cause, one of the Err* sentinels wrapped with detail.
func (e *ParseError) Unwrap() error { return e.Err }

// wrongArtifact returns an error matching ErrWrongArtifact with a detail that
// says what the file looks like instead.
func wrongArtifact(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrWrongArtifact, fmt.Sprintf(format, args...))
}

// The words of a wrong artifact, shared by the analysis (manifest.go,
// runresults.go) and the node scanner (nodes.go).

// manifestInRunResults is the error of a run_results file holding member
// name, which only a manifest has (nodes, parent_map...).
func manifestInRunResults(name []byte) error {
	return wrongArtifact("this is a manifest (it has %q), not a run_results; swap the two files?", string(name))
}

// runResultsInManifest is the error of a manifest holding member name,
// which only a run_results has (results, elapsed_time).
func runResultsInManifest(name []byte) error {
	return wrongArtifact("this is a run_results (it has %q), not a manifest; swap the two files?", string(name))
}

// noNodes is the error of a manifest without its "nodes" object.
func noNodes() error { return wrongArtifact("no \"nodes\" object: this JSON is not a dbt manifest") }

// noResults is the error of a run_results without its "results" array.
func noResults() error {
	return wrongArtifact("no \"results\" array: this JSON is not a dbt run_results")
}

// classify turns a decoder error into a ParseError with a sentinel cause.
// offset is the decoder's position; a syntax error's own offset wins.
func classify(file string, offset int64, err error) *ParseError {
	var pe *ParseError
	if errors.As(err, &pe) {
		return pe
	}
	var se *jsontext.SyntacticError
	switch {
	case errors.Is(err, ErrTooLarge), errors.Is(err, ErrWrongArtifact), errors.Is(err, ErrEmpty), errors.Is(err, ErrEncoding):
		// Already classified.
	case errors.Is(err, io.ErrUnexpectedEOF):
		err = ErrTruncated
	case errors.As(err, &se):
		offset = se.ByteOffset
		if errors.Is(se.Err, io.ErrUnexpectedEOF) {
			err = ErrTruncated
		} else {
			err = fmt.Errorf("%w: %v", ErrNotJSON, se.Err)
		}
	default:
		err = fmt.Errorf("read: %w", err)
	}
	return &ParseError{File: file, Offset: offset, Err: err}
}

// Limit names, for LimitError.Limit: which Options field was exceeded.
const (
	LimitManifest   = "manifest"    // Options.MaxManifestBytes
	LimitRunResults = "run_results" // Options.MaxRunResultsBytes
	LimitValue      = "value"       // Options.MaxNodeBytes (a member name)
)

// LimitError says which configured limit an input exceeded, so that a
// caller can name its own setting for it. It matches ErrTooLarge.
type LimitError struct {
	// Limit is LimitManifest, LimitRunResults or LimitValue.
	Limit string
	// Max is the limit in bytes; Size the size found when known, else 0.
	Max, Size int64
}

// Error says what was too large, without naming any setting.
func (e *LimitError) Error() string {
	what := map[string]string{LimitManifest: "the manifest", LimitRunResults: "run_results", LimitValue: "a member name"}[e.Limit]
	if e.Size > 0 {
		return fmt.Sprintf("%s is %s (%d bytes > %d)", what, ErrTooLarge, e.Size, e.Max)
	}
	return fmt.Sprintf("%s is %s of %d bytes", what, ErrTooLarge, e.Max)
}

// Is makes a LimitError match ErrTooLarge.
func (e *LimitError) Is(target error) bool { return target == ErrTooLarge }

// limitReader fails with a *LimitError once more than n bytes have been
// read; limit names the limit.
type limitReader struct {
	r     io.Reader
	n     int64
	limit string
	max   int64
}

func newLimitReader(r io.Reader, n int64, limit string) *limitReader {
	return &limitReader{r: r, n: n, limit: limit, max: n}
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		// Probe one byte to tell "exactly at the limit" from "over it".
		var b [1]byte
		n, err := l.r.Read(b[:])
		if n > 0 {
			return 0, &LimitError{Limit: l.limit, Max: l.max}
		}
		return 0, err
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}
