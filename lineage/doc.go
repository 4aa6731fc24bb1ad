// Package lineage turns a followed-up Bolt run into OpenLineage 2-0-2
// RunEvents and delivers them to a file (NDJSON) or an OpenLineage HTTP
// endpoint such as Marquez.
//
// It sits after the fetcher in the flow: the fetcher archives and analyses
// each command's artifacts, then hands them to an [Exporter]. The package
// depends on artifacts/ (which streams the executed nodes' details, see
// [artifacts.ScanNodes]) and on its own small run identity ([Run],
// [Command]), never on Paradime's wire format.
//
// # Events
//
// One Bolt run is one parent job (namespace Config.Namespace, default
// paradime://<workspace>, name <schedule_name>) with a START and a COMPLETE
// or FAIL. Each command is a child job <schedule_name>.<command id>. Each
// executed dbt node is a job named {database}.{schema}.{alias} with a START
// and a COMPLETE or FAIL timed from run_results, carrying the jobType, sql,
// processing_engine and parent facets, and errorMessage with dbt's message
// when it failed. A skipped node is one ABORT whose errorMessage names the
// upstream failures that caused the skip. Tests attach
// dataQualityAssertions to the dataset they test.
//
// Run ids are UUIDv5 of the namespace, the Bolt run id, the command id and
// the node's unique_id, so exporting the same run twice gives the same ids.
//
// # Memory
//
// Events are written as they are produced: a run's events go to its
// [Block] one at a time and are never all held. The artifacts are read in
// three streaming passes (run_results, then the manifest twice), keeping
// only what the executed nodes need.
package lineage
