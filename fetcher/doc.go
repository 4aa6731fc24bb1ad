// Package fetcher follows up a completed Paradime Bolt run: from one webhook
// payload to an archive of every command's logs and dbt artifacts, and a
// report of what failed in dbt and why.
//
// Flow. Fetch decodes the payload (DecodePayload: unknown keys ignored, the
// keys it acts on checked, bad command entries kept as bad commands), binds the client
// to the payload's api_url (a host outside the client's allow-list refuses
// the whole payload), then runs every follow-up under one errgroup with a
// global limit (Options.Concurrency, and Options.Limiter when follow-ups
// share one):
//
//   - per selected artifact, one task: its resource_query, then at once the
//     download of the presigned URL it returns (re-asking the URL, at most
//     MaxURLRefreshes times, when it has expired), streamed to a temp file in
//     the archive with its size and SHA-256 computed on the way, committed
//     by an atomic rename;
//   - per command whose logs are selected, one task: its api_query (with the
//     paged boltCommandLogs as a fallback when stdout comes back empty),
//     written as stdout.log and stderr.log.
//
// A command's manifest.json and run_results.json are analysed (artifacts
// package) while they download: the analysis reads the bytes as they arrive
// and ends moments after the last one. When that cannot be trusted (a retried
// download, files already archived) the archived files are analysed instead.
// One failure never cancels its siblings: it is recorded in the report and
// the rest completes, and each failure carries a kind that says whether
// trying again may help (ItemError.Retryable). The returned error is only
// for unusable input, and matches ErrBadInput.
//
// Archive layout, under the archive's root (--out):
//
//	<workspace>/<schedule_name>/<run_id>/
//	  .boltfetch.lock              the run folder's lock (archive.Local)
//	  payload.json                 the payload as received
//	  report.json, report.md       the Report
//	  commands/<command_id>/
//	    stdout.log, stderr.log
//	    command.json               the index: every file archived, with sizes and SHA-256
//	    <resource path>            e.g. target/manifest.json
//
// Every name taken from the payload is made safe (archive.SafeName) or
// refused when it would climb out or is not portable (archive.CleanPath).
//
// Idempotence and concurrency. A follow-up holds its run folder's lock
// (archive.Locker, else an in-process lock) from its first write to its last,
// so follow-ups of one run take turns, whichever process runs them. Each
// command.json is the merged index of its folder: read under the lock,
// rewritten as each file is committed, never losing a file another follow-up
// archived. A re-run skips, without a single request, every log and artifact
// whose file still has the recorded size and SHA-256, and its report lists
// everything the index holds, selected this time or not.
package fetcher
