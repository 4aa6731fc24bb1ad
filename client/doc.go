// Package client talks to Paradime's Bolt GraphQL API for boltfetch: the
// follow-up calls a completed-run webhook payload asks for (boltCommand for
// a command's logs, boltResourceUrl for an artifact's presigned URL), and the
// typed queries (boltRunStatus, boltCommandLogs) used when a payload's own
// documents are not enough. It knows nothing of dbt or of the pipeline.
//
// A webhook payload is unauthenticated text, so two guards stand between it
// and the credentials:
//
//   - WithEndpoint binds a payload's api_url only if its host is the
//     configured endpoint's host or matches an allowed pattern
//     (*.paradime.io by default, more with Config.AllowHosts), over https
//     (plain http only for loopback hosts allowed explicitly). Ports do not
//     matter; userinfo, zones and odd characters are refused; non-ASCII hosts
//     are refused (give the xn-- form), and the URL dialled is rebuilt from
//     the normalised host, so what is dialled is what was checked.
//   - CheckQuery (used by Exec, PayloadCommand, PayloadResourceURL) sends a
//     payload's document only if it is exactly one query whose root fields,
//     through fragments, are all boltCommand or boltResourceUrl with an
//     integer id. What is sent is re-printed from the checked syntax tree.
//     PayloadCommand and PayloadResourceURL also require the id in the
//     document to be the id the payload lists beside it.
//
// Each call is one POST of the document with its variables, over
// net/http, its answer decoded once as it streams in (only the root field
// asked for is decoded, straight into its Go type) under a size cap. Each
// attempt is bounded in time, body included, so a reset or a stall mid-body
// is retried like a connection error; a body that arrived whole but does not
// decode never is. The retry policy is internal/retry's, shared with the
// artifact downloader: 429 and 503 (Retry-After, seconds or an HTTP date,
// honoured up to MaxRetryAfter), 408, 500, 502, 504 and transport errors are
// retried with jittered exponential backoff, within a retry budget shared by
// a client and the clients derived from it. The queries are read-only, so a
// 500 is worth another attempt; a GraphQL error in a 200 answer is not, nor
// are 400, 401, 403, 404 and other statuses. Redirects are never followed.
//
// Errors are typed for callers to branch on (*ConfigError, *AuthError,
// *RateLimitError, *NotFoundError, *GraphQLError, *TransportError,
// *AttemptTimeoutError, *StatusError, *BodyTooLargeError, *DecodeError,
// *HostNotAllowedError, *QueryRefusedError). They state facts (a setting, a
// host, a limit) and never name a CLI flag or a Go field: callers word them
// for their users. None holds a secret: errors and logs name the host
// only, never the api_url path (it holds a token), a credential or a
// presigned query string.
package client
