// Package blobstore is the object-storage archive: an archive.Store over a
// gocloud.dev *blob.Bucket, opened from a URL such as
//
//	s3://bucket/prefix?region=eu-west-1&endpoint=http://127.0.0.1:9000&use_path_style=true
//	gs://bucket/prefix
//	azblob://container/prefix
//	file:///srv/archive
//
// Each scheme is gocloud's own URL opener (s3blob, gcsblob, azureblob,
// fileblob), with its usual credential chain and query parameters; the path
// after the bucket is the key prefix. OpenOut opens either such a URL or a
// plain folder path (archive.Local), so a command needs one call.
//
// The drivers are most of a binary's size (the AWS and Azure SDKs, and
// gRPC, xDS and OpenTelemetry through GCS) and, through their package
// initialisation, about 40 MB of every process's starting RSS. A build with
// -tags nocloud leaves them out: Drivers is then empty, and OpenOut refuses
// every URL with a *ConfigError wrapping ErrNoDrivers (a folder still
// works). That build suits a CI step that only runs analyze.
//
// Writes stream: a Writer feeds a blob.Writer that uploads in parts of
// Options.PartSize (S3 multipart, GCS resumable, Azure blocks), so an
// artifact is never held whole. Nothing is visible under the key until
// Commit; Abort cancels the upload's context, which makes the driver abort
// the multipart upload, so no object and no upload state is left.
//
// Every committed object has a version tag (Info.Tag): the S3 or Azure ETag,
// the GCS generation, fileblob's modification-time ETag. archive.Verify
// trusts a matching size and tag without reading content.
//
// At open, the store probes the bucket with a one-key list and reports a
// missing bucket, denied credentials or an unusable URL as a *ConfigError,
// before anything else happens. On S3 it then aborts incomplete multipart
// uploads under its prefix older than Options.SweepAge (left by a killed
// process). GCS resumable uploads and Azure uncommitted blocks leave no
// listable state through these APIs and are discarded by the services
// themselves (after a week), so there is nothing to sweep there.
package blobstore
