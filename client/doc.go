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
//     (*.paradime.io by default, more with --allow-host), over https
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
// Calls go through github.com/hasura/go-graphql-client (ExecRaw; this
// package decodes) over github.com/hashicorp/go-retryablehttp. Each attempt
// is bounded in time and its body read whole under a size cap, so a reset or
// a stall mid-body is retried like a connection error. 429 (Retry-After
// honoured up to MaxRetryAfter), 502, 503, 504 and transport errors are
// retried with jittered exponential backoff, within a retry budget shared by
// a client and the clients derived from it; 400, 401, 403, 404, other
// statuses and GraphQL errors never are. Redirects are never followed.
//
// Errors are typed for callers to branch on (*AuthError, *RateLimitError,
// *NotFoundError, *GraphQLError, *TransportError, *StatusError,
// *BodyTooLargeError, *DecodeError, *HostNotAllowedError,
// *QueryRefusedError). None holds a secret: errors and logs name the host
// only, never the api_url path (it holds a token), a credential or a
// presigned query string.
package client
