package blobstore

import (
	"regexp"
)

// urlQuery matches the query string of a URL inside an error message. Cloud
// SDKs put request URLs in their errors, and a query string may carry a
// credential (an Azure SAS signature, a presigned S3 or GCS URL).
var urlQuery = regexp.MustCompile(`(https?://[^\s?"'<>]+)\?[^\s"'<>]*`)

// scrub removes URL query strings from an error message.
func scrub(msg string) string { return urlQuery.ReplaceAllString(msg, "$1?(query removed)") }

// scrubbedError is an error whose message has no URL query string; it still
// unwraps to the driver's error, for errors.Is and errors.As.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// scrubbed returns err with its message scrubbed, or nil.
func scrubbed(err error) error {
	if err == nil {
		return nil
	}
	return &scrubbedError{msg: scrub(err.Error()), err: err}
}
