// Package inbox keeps accepted Bolt run deliveries durably on a River job
// queue (SQLite embedded in a data dir, or PostgreSQL shared by several
// replicas), runs the injected follow-up for each with bounded workers and
// retries, and answers run status for the webhook and the operator CLI.
//
// inbox does not know how payloads arrive (that is package webhook) nor how a
// run is followed up (cmd injects a FollowUp); it never imports fetcher.
package inbox
