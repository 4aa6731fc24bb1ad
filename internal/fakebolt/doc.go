// Package fakebolt is an in-process fake of Paradime's Bolt API, for the
// client and fetcher tests, the fetcher benchmark and `boltfetch demo`.
//
// It serves the GraphQL endpoint with a real GraphQL engine
// (github.com/graph-gophers/graphql-go) over an SDL schema shaped like
// Paradime's (boltCommand, boltResourceUrl, boltRunStatus, boltCommandLogs,
// listBoltRuns, plus mutations that must never be called), checks the auth
// headers the way Paradime does, and serves artifacts at presigned-style URLs
// that expire like S3's. Every request is recorded (count, headers, peak
// concurrency, GraphQL root fields) so tests can assert what went over the
// wire, and faults (status codes, Retry-After, latency, resets, truncated or
// slow bodies) can be injected per route.
//
// Production packages never import this package; it is compiled into the CLI
// only for the demo command, so it imports neither testing nor httptest and it
// listens on loopback only.
package fakebolt
