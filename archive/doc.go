// Package archive is where boltfetch puts what it fetched: one small Store
// interface that fetcher writes through, so that a local folder and object
// storage behave the same.
//
// Keys are slash-separated paths relative to the store's root, such as
// "acme/daily_run/63187/commands/193441/target/manifest.json". Every key is
// checked by CheckKey before use: relative, clean, no "..", and made only of
// names that are safe on Linux, macOS and Windows. Outside input (resource
// paths, workspace and schedule names, run ids) goes through CleanPath or
// SafeName first.
//
// A Writer publishes its content under its key only on Commit, all at once:
// a cancelled or failed write leaves nothing under the final key. For a local
// folder that is a temp file renamed into place; for object storage (a later
// gocloud.dev implementation) it is a blob writer whose upload is aborted
// unless closed cleanly.
package archive
