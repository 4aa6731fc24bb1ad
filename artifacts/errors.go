package artifacts

import (
	"errors"
	"fmt"
	"io"

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
)

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

// classify turns a decoder error into a ParseError with a sentinel cause.
// offset is the decoder's position; a syntax error's own offset wins.
func classify(file string, offset int64, err error) *ParseError {
	var pe *ParseError
	if errors.As(err, &pe) {
		return pe
	}
	var se *jsontext.SyntacticError
	switch {
	case errors.Is(err, ErrTooLarge), errors.Is(err, ErrWrongArtifact), errors.Is(err, ErrEmpty):
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

// limitReader fails with ErrTooLarge once more than n bytes have been read.
type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		// Probe one byte to tell "exactly at the limit" from "over it".
		var b [1]byte
		n, err := l.r.Read(b[:])
		if n > 0 {
			return 0, ErrTooLarge
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
