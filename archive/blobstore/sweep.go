//go:build !nocloud

package blobstore

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// maxSweepPages bounds the listing of incomplete uploads at open.
const maxSweepPages = 100

// sweep aborts incomplete S3 multipart uploads under the prefix started
// more than age ago: those a killed process left behind. Failures are
// logged, never fatal: the archive works without the sweep. On other
// stores there is nothing to list (see the package doc).
func (s *Store) sweep(ctx context.Context, age time.Duration) {
	var client *s3.Client
	if s.scheme != "s3" || !s.bucket.As(&client) {
		return
	}
	name := s.bucketName()
	cutoff := time.Now().Add(-age)
	in := &s3.ListMultipartUploadsInput{Bucket: aws.String(name), Prefix: aws.String(s.prefix)}
	aborted := 0
	for range maxSweepPages {
		out, err := client.ListMultipartUploads(ctx, in)
		if isNoSuchUpload(err) {
			return // some S3 servers' answer when there are none
		}
		if err != nil {
			s.opts.Logger.Warn("archive: cannot list incomplete uploads to sweep them", "location", s.location, "error", err)
			return
		}
		for _, up := range out.Uploads {
			if up.Initiated == nil || up.Initiated.After(cutoff) {
				continue
			}
			_, err := client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(name), Key: up.Key, UploadId: up.UploadId})
			if err != nil {
				s.opts.Logger.Warn("archive: cannot abort an orphaned upload", "key", aws.ToString(up.Key), "error", err)
				continue
			}
			aborted++
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
	if aborted > 0 {
		s.opts.Logger.Info("archive: aborted orphaned multipart uploads", "location", s.location, "count", aborted, "older_than", age)
	}
}

// tuneS3Upload bounds the memory of one S3 upload. gocloud builds the SDK's
// transfer manager with its defaults, which read the first 16 MiB of an
// upload whole (growing a buffer to get there) before choosing between one
// PUT and a multipart upload, and which abort a failed multipart upload with
// the upload's own context: already cancelled when the upload was
// cancelled, so the abort fails and the upload is orphaned. The manager
// gocloud hands over is replaced here by one that reads parts of PartSize
// from the first byte and aborts with a fresh context (FailTimeout).
func (s *Store) tuneS3Upload(as func(any) bool) error {
	var tm *transfermanager.Client
	var client *s3.Client
	if !as(&tm) || !s.bucket.As(&client) {
		return nil
	}
	checksum := client.Options().RequestChecksumCalculation
	*tm = *transfermanager.New(client, func(o *transfermanager.Options) {
		o.PartSizeBytes = int64(s.opts.PartSize)
		o.Concurrency = s.opts.PartsInFlight
		o.MultipartUploadThreshold = int64(s.opts.PartSize)
		o.RequestChecksumCalculation = checksum
		o.FailTimeout = abortTimeout
	})
	return nil
}

// bucketName is the bucket (or container) name, the URL's host.
func (s *Store) bucketName() string {
	rest := s.location[len(s.scheme)+len("://"):]
	if i := indexSlash(rest); i >= 0 {
		return rest[:i]
	}
	return rest
}

func indexSlash(s string) int {
	for i := range len(s) {
		if s[i] == '/' {
			return i
		}
	}
	return -1
}

// isNoSuchUpload reports the answer some S3 servers (gofakes3) give to a
// listing of uploads in a bucket that never had one.
func isNoSuchUpload(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "NoSuchUpload"
}

// abortTimeout bounds the abort of one failed upload.
const abortTimeout = 30 * time.Second

// abortUpload aborts the S3 multipart upload of key that err (from a
// writer's Close) names, if any, with a context of its own: the writer's is
// cancelled by then. An upload already aborted is fine.
func (s *Store) abortUpload(key string, err error) {
	var failed interface{ UploadID() string }
	if err == nil || !errors.As(err, &failed) || failed.UploadID() == "" {
		return
	}
	var client *s3.Client
	if !s.bucket.As(&client) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), abortTimeout)
	defer cancel()
	_, aerr := client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(s.bucketName()), Key: aws.String(s.prefix + key), UploadId: aws.String(failed.UploadID())})
	if aerr != nil && !isNoSuchUpload(aerr) {
		s.opts.Logger.Warn("archive: cannot abort a failed upload", "key", key, "error", aerr)
	}
}
