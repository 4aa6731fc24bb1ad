// Package pull follows up Bolt runs without a webhook: it rebuilds a run's
// payload from Paradime's API alone (Payload) and walks a schedule's recent
// runs to follow up those the archive does not hold complete (Backfill).
//
// There is one follow-up path. A pulled run becomes payload bytes, built
// from this package's own typed queries (boltRunStatus for the run's state
// and commands, boltCommand for each command's resources only), whose
// api_query and resource_query are the canonical typed documents the query
// guard accepts. Those bytes go through exactly the same fetcher.Fetch as a
// webhook payload; this package never fetches logs or artifacts itself.
// The payload records "source": "api" and what was asked.
package pull
