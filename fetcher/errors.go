package fetcher

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/boltfetch/boltfetch/archive"
	"github.com/boltfetch/boltfetch/client"
	"github.com/boltfetch/boltfetch/internal/retry"
)

// Kinds of ItemError: stable words to branch on, as they appear in reports.
const (
	// From the Paradime API.
	KindAuth         = "auth"           // the credentials were refused
	KindRateLimited  = "rate_limited"   // 429 after the retries allowed
	KindNotFound     = "not_found"      // the command or resource does not exist
	KindGraphQL      = "graphql"        // a GraphQL error inside the answer
	KindTransport    = "transport"      // connection errors, resets, timeouts
	KindStatus       = "status"         // an HTTP status not covered above (see ItemError.StatusCode)
	KindBodyTooLarge = "body_too_large" // an API answer over its size cap
	KindDecode       = "decode"         // an API answer of the wrong shape
	// Refusals.
	KindQueryRefused   = "query_refused"    // the query guard refused the payload's document
	KindHostNotAllowed = "host_not_allowed" // a host outside the allow-list
	KindPathRefused    = "path_refused"     // a resource path that cannot be archived safely
	KindBadPayload     = "bad_payload"      // a payload entry that cannot be used
	KindBadURL         = "bad_url"          // the API gave a URL that will not be fetched
	// Downloads.
	KindExpired   = "expired"   // the presigned URL answered 403
	KindTruncated = "truncated" // the body ended before its Content-Length
	KindTooLarge  = "too_large" // over the artifact size cap
	// The rest.
	KindArchive  = "archive"  // writing to or reading from the archive failed
	KindAnalysis = "analysis" // the artifacts could not be analysed
	KindLineage  = "lineage"  // an OpenLineage event could not be delivered
	KindCanceled = "canceled" // the follow-up was cancelled (shutdown, timeout, Ctrl-C)
	KindError    = "error"    // anything unclassified
)

// Stages of ItemError: where the follow-up failed.
const (
	StagePayload       = "payload"
	StageAPIQuery      = "api_query"
	StageResourceQuery = "resource_query"
	StageDownload      = "download"
	StageArchive       = "archive"
	StageAnalysis      = "analysis"
	StageLineage       = "lineage"
)

// ItemError is one failure, located.
type ItemError struct {
	CommandID  ID     `json:"command_id,omitempty"`
	ResourceID ID     `json:"resource_id,omitempty"`
	Path       string `json:"path,omitempty"`
	// Stage is where it failed: payload, api_query (with its
	// boltCommandLogs fallback), resource_query, download, archive, analysis,
	// lineage.
	Stage string `json:"stage"`
	// Kind is a stable word to branch on: one of the Kind constants.
	Kind string `json:"kind"`
	// StatusCode is the HTTP status behind a status, rate_limited, expired
	// or auth error, when there was one.
	StatusCode int    `json:"status_code,omitempty"`
	Message    string `json:"message"`
}

// Retryable reports whether the same follow-up may succeed later: the error
// is transient (transport, a status that retry.Status calls transient (408,
// 429, 500, 502, 503, 504), an expired URL, a truncated body, the archive's
// storage, lineage delivery, a cancel). Refusals, missing objects, bad
// credentials, undecodable answers, oversized files, analysis errors, bad
// payload entries and other statuses are permanent: trying again gives the
// same answer.
func (e ItemError) Retryable() bool {
	switch e.Kind {
	case KindTransport, KindRateLimited, KindExpired, KindTruncated, KindArchive, KindLineage, KindCanceled:
		return true
	case KindStatus:
		return retry.Status(e.StatusCode)
	}
	return false
}

// Retryable reports whether following the payload up again may complete
// what this report lacks: the report is incomplete and at least one of its
// errors is transient, or OpenLineage events were not delivered (a retry
// sends them again, with the same run ids). A report whose errors are all
// permanent is not.
func (rep *Report) Retryable() bool {
	if rep == nil {
		return false
	}
	for _, e := range rep.Errors {
		// Lineage errors leave the archive complete, yet a retry re-sends
		// the events (with the same run ids).
		if e.Retryable() && (!rep.Summary.Complete || e.Stage == StageLineage) {
			return true
		}
	}
	return false
}

// ErrBadInput is matched (errors.Is) by every error Fetch and FetchPayload
// return: a payload that cannot be used at all, an api_url host that is not
// allowed, or unusable options. Such input gives the same answer however
// often it is tried, so a queue fails it at once instead of retrying it.
// Failures of single items never end up here: they are in Report.Errors.
var ErrBadInput = errors.New("unusable input")

// PayloadError reports a payload that cannot be used at all.
type PayloadError struct {
	// Path locates the problem in the payload, as a JSON path such as
	// "commands[2].json_resources"; "" for the payload as a whole.
	Path   string
	Reason string
	// Limit is the size cap in bytes when the payload was refused for
	// being larger (see Options.MaxPayloadSize); 0 otherwise.
	Limit int64
	Err   error
}

func (e *PayloadError) Error() string {
	s := "payload: "
	if e.Path != "" {
		s += e.Path + ": "
	}
	s += e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *PayloadError) Unwrap() error { return e.Err }

// Is makes a PayloadError match ErrBadInput.
func (e *PayloadError) Is(target error) bool { return target == ErrBadInput }

// Option names an Options field in an OptionsError, in words that callers
// map to their own names (a CLI flag, a config key).
type Option string

// The options an OptionsError can name.
const (
	OptionArchive   Option = "archive"
	OptionClient    Option = "client"
	OptionArtifacts Option = "artifacts"
	OptionLogs      Option = "logs"
	OptionFolder    Option = "folder"
	// OptionCompression is Options.Compression.
	OptionCompression Option = "compression"
)

// OptionsError reports an unusable option. Its text names the option in
// plain words; callers word it with their own names for Option.
type OptionsError struct {
	Option Option
	// Value is the offending value, when there is one.
	Value  string
	Reason string
	Err    error
}

func (e *OptionsError) Error() string {
	s := "fetcher: " + string(e.Option)
	if e.Value != "" {
		s += fmt.Sprintf(" %q", e.Value)
	}
	s += ": " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *OptionsError) Unwrap() error { return e.Err }

// Is makes an OptionsError match ErrBadInput.
func (e *OptionsError) Is(target error) bool { return target == ErrBadInput }

// More options an OptionsError can name: limits refused when negative (0
// takes the default).
const (
	OptionConcurrency     Option = "concurrency"       // Options.Concurrency
	OptionMaxArtifactSize Option = "max artifact size" // Options.MaxArtifactSize
)

// itemErr locates err as an ItemError of stage, with its kind and status.
func itemErr(stage string, err error) ItemError {
	return ItemError{Stage: stage, Kind: kindOf(err), StatusCode: statusOf(err), Message: err.Error()}
}

// statusOf is the HTTP status behind err, 0 when none.
func statusOf(err error) int {
	var (
		de  *DownloadError
		se  *client.StatusError
		ae  *client.AuthError
		te  *client.TransportError
		rle *client.RateLimitError
	)
	switch {
	case errors.As(err, &de):
		return de.StatusCode
	case errors.As(err, &se):
		return se.StatusCode
	case errors.As(err, &ae):
		return ae.StatusCode
	case errors.As(err, &rle):
		return 429
	case errors.As(err, &te):
		return te.LastStatus
	}
	return 0
}

// kindOf gives an error its report kind.
func kindOf(err error) string {
	var (
		de   *DownloadError
		pe   *archive.PathError
		ae   *client.AuthError
		rle  *client.RateLimitError
		nfe  *client.NotFoundError
		ge   *client.GraphQLError
		te   *client.TransportError
		se   *client.StatusError
		btle *client.BodyTooLargeError
		qre  *client.QueryRefusedError
		dce  *client.DecodeError
		hna  *client.HostNotAllowedError
	)
	switch {
	case errors.As(err, &de):
		return de.Kind
	case errors.As(err, &pe):
		return KindPathRefused
	case errors.As(err, &qre):
		return KindQueryRefused
	case errors.As(err, &hna):
		return KindHostNotAllowed
	case errors.As(err, &ae):
		return KindAuth
	case errors.As(err, &rle):
		return KindRateLimited
	case errors.As(err, &nfe):
		return KindNotFound
	case errors.As(err, &ge):
		return KindGraphQL
	case errors.As(err, &btle):
		return KindBodyTooLarge
	case errors.As(err, &se):
		return KindStatus
	case errors.As(err, &dce):
		return KindDecode
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return KindCanceled
	case errors.As(err, &te):
		return KindTransport
	case errors.Is(err, fs.ErrPermission), errors.Is(err, fs.ErrExist):
		return KindArchive
	}
	return KindError
}
