//go:build !nocloud

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gocloud.dev/blob"

	"github.com/boltfetch/boltfetch/archive"
	"github.com/boltfetch/boltfetch/archive/blobstore"
	"github.com/boltfetch/boltfetch/fetcher"
	"github.com/boltfetch/boltfetch/internal/fakebolt"
	"github.com/boltfetch/boltfetch/internal/s3fake"
)

// s3Env points the AWS SDK at the fake (static credentials). t.Setenv: the
// tests using it are not parallel.
func s3Env(t *testing.T) *s3fake.Server {
	t.Helper()
	for k, v := range s3fake.Env() {
		t.Setenv(k, v)
	}
	srv, err := s3fake.Start("arch")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func fetchInto(t *testing.T, out, payload, host string, more ...string) (int, *fetcher.Report, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	args := append([]string{"fetch", "--format", "json", "--out", out, "--api-key", "k", "--api-secret", "s", "--allow-host", host}, more...)
	args = append(args, payload)
	code := run(args, &iostreams{In: strings.NewReader(""), Out: &stdout, Err: &stderr, Getenv: noEnv})
	var rep fetcher.Report
	if stdout.Len() > 0 {
		if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
			t.Fatalf("report: %v\n%s", err, stdout.String())
		}
	}
	return code, &rep, stderr.String()
}

// TestFetchS3EndToEnd follows the demo run up into S3 (gofakes3 through
// s3blob, path style, custom endpoint) and into a local folder: the same
// files, byte-exact, under the same keys. A second run makes no download and
// reads no artifact or log content (GETs counted at the S3 server).
func TestFetchS3EndToEnd(t *testing.T) {
	s3srv := s3Env(t)
	srv, payload, host := fakeForCLI(t, nil)
	ctx := context.Background()

	local := t.TempDir()
	if code, _, errs := fetchInto(t, local, payload, host); code != exitOK {
		t.Fatalf("local: exit %d\n%s", code, errs)
	}
	bucketURL := s3srv.BucketURL("arch", "team/boltfetch")
	code, rep, errs := fetchInto(t, bucketURL, payload, host)
	if code != exitOK {
		t.Fatalf("s3: exit %d\n%s", code, errs)
	}
	if rep.Archive.Location != "s3://arch/team/boltfetch" {
		t.Errorf("archive location %q, want the bucket URL without its query", rep.Archive.Location)
	}
	store, err := blobstore.Open(ctx, bucketURL, blobstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	// Every local file is in the bucket under the same key; the content
	// files byte-exact (reports and command.json hold times and tags).
	var localKeys []string
	filepath.WalkDir(local, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".boltfetch") {
			return err
		}
		rel, _ := filepath.Rel(local, p)
		localKeys = append(localKeys, filepath.ToSlash(rel))
		return nil
	})
	sort.Strings(localKeys)
	if len(localKeys) < 8 {
		t.Fatalf("local archive holds only %v", localKeys)
	}
	for _, k := range localKeys {
		want, _ := os.ReadFile(filepath.Join(local, filepath.FromSlash(k)))
		r, err := store.Open(ctx, k)
		if err != nil {
			t.Errorf("%s: not in the bucket: %v", k, err)
			continue
		}
		got, _ := io.ReadAll(r)
		r.Close()
		switch filepath.Base(k) {
		case "report.json", "report.md", "command.json":
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes in the bucket, %d locally, or different", k, len(got), len(want))
		}
	}
	var objs int
	for it := store.Bucket().List(&blob.ListOptions{Prefix: store.Prefix()}); ; objs++ {
		if _, err := it.Next(ctx); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if objs != len(localKeys) {
		t.Errorf("%d objects in the bucket, %d files locally", objs, len(localKeys))
	}
	var tagged int
	for _, c := range rep.Commands {
		for _, a := range c.Artifacts {
			if a.Tag != "" {
				tagged++
			}
		}
	}
	if tagged == 0 {
		t.Error("no artifact recorded a version tag")
	}

	// The second run: nothing downloaded, no content read.
	downloads := srv.Stats().Requests[fakebolt.RouteDownload]
	s3srv.ResetCounts()
	code, rep2, errs := fetchInto(t, bucketURL, payload, host)
	if code != exitOK {
		t.Fatalf("second run: exit %d\n%s", code, errs)
	}
	if n := srv.Stats().Requests[fakebolt.RouteDownload] - downloads; n != 0 {
		t.Errorf("second run downloaded %d artifacts, want 0", n)
	}
	for _, k := range s3srv.GETKeys() {
		if base := filepath.Base(k); base != "command.json" && base != "report.json" {
			t.Errorf("second run read the content of %s", k)
		}
	}
	if rep2.Summary.ArtifactsReused != rep2.Summary.ArtifactsArchived || rep2.Summary.Analyses != rep.Summary.Analyses {
		t.Errorf("second run: summary %+v, first %+v", rep2.Summary, rep.Summary)
	}
	for i, c := range rep2.Commands {
		a1, _ := json.Marshal(rep.Commands[i].Analysis)
		a2, _ := json.Marshal(c.Analysis)
		if !bytes.Equal(a1, a2) {
			t.Errorf("command %s: the reused analysis differs", c.ID)
		}
	}

	// A rewrite behind our back (same size, one byte changed) changes the
	// tag: that file is fetched again, without any content read to notice.
	key := rep.Archive.Folder + "/commands/193442/target/run_results.json"
	data, err := archive.ReadFile(ctx, store, key, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-1] ^= ' ' // same size, other content
	if _, err := archive.WriteFile(ctx, store, key, data); err != nil {
		t.Fatal(err)
	}
	downloads = srv.Stats().Requests[fakebolt.RouteDownload]
	if code, _, errs := fetchInto(t, bucketURL, payload, host); code != exitOK {
		t.Fatalf("third run: exit %d\n%s", code, errs)
	}
	if n := srv.Stats().Requests[fakebolt.RouteDownload] - downloads; n != 1 {
		t.Errorf("after a rewrite behind our back, %d downloads, want 1", n)
	}
}

// TestFetchS3FailedUpload: an upload that fails leaves nothing under its
// final key and an item error at stage archive; the next run completes it.
func TestFetchS3FailedUpload(t *testing.T) {
	s3srv := s3Env(t)
	_, payload, host := fakeForCLI(t, nil)
	ctx := context.Background()
	bucketURL := s3srv.BucketURL("arch", "fail")
	s3srv.FailPUT(func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/193442/target/manifest.json") })
	code, rep, _ := fetchInto(t, bucketURL, payload, host, "--compress", "none")
	if code != exitPartial {
		t.Fatalf("exit %d, want %d", code, exitPartial)
	}
	var archiveErrs int
	for _, e := range rep.Errors {
		if e.Stage == fetcher.StageArchive && strings.Contains(e.Path, "manifest.json") {
			archiveErrs++
		}
	}
	if archiveErrs == 0 {
		t.Errorf("no archive-stage error for the manifest: %+v", rep.Errors)
	}
	store, err := blobstore.Open(ctx, bucketURL, blobstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	key := rep.Archive.Folder + "/commands/193442/target/manifest.json"
	if _, err := store.Stat(ctx, key); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("after the failed upload, Stat = %v; want no object", err)
	}
	s3srv.FailPUT(nil)
	if code, _, errs := fetchInto(t, bucketURL, payload, host); code != exitOK {
		t.Fatalf("next run: exit %d\n%s", code, errs)
	}
	if _, err := store.Stat(ctx, key); err != nil {
		t.Fatalf("the next run did not complete the manifest: %v", err)
	}
}

// TestFetchS3Compressed archives with --compress zstd: .zst objects with
// Content-Encoding zstd, the compression in the report, and the same
// analysis as without.
func TestFetchS3Compressed(t *testing.T) {
	s3srv := s3Env(t)
	srv, payload, host := fakeForCLI(t, nil)
	ctx := context.Background()
	bucketURL := s3srv.BucketURL("arch", "zst")
	code, rep, errs := fetchInto(t, bucketURL, payload, host, "--compress", "zstd")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	store, err := blobstore.Open(ctx, bucketURL, blobstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	c := rep.Commands[len(rep.Commands)-1]
	if c.Analysis == nil || len(c.Analysis.Skipped) != 13 {
		t.Fatalf("analysis of the compressed archive: %+v", c.Analysis)
	}
	for _, a := range c.Artifacts {
		if a.Compression != archive.CompressionZstd || a.StoredBytes <= 0 || a.StoredBytes >= a.Bytes {
			t.Errorf("%s: %+v", a.Path, a.Stored)
		}
		attrs, err := store.Attributes(ctx, a.Location+archive.ZstdSuffix)
		if err != nil || attrs.ContentEncoding != "zstd" {
			t.Errorf("%s.zst: %v, encoding %q", a.Location, err, attrs.ContentEncoding)
		}
		r, comp, err := archive.OpenContent(ctx, store, a.Location)
		if err != nil || comp != archive.CompressionZstd {
			t.Fatalf("%s: %v", a.Location, err)
		}
		d, _ := io.ReadAll(r)
		r.Close()
		if int64(len(d)) != a.Bytes {
			t.Errorf("%s: %d bytes decompressed, want %d", a.Location, len(d), a.Bytes)
		}
	}
	if c.Logs == nil || c.Logs.Stdout.Compression != archive.CompressionZstd {
		t.Errorf("logs not compressed: %+v", c.Logs)
	}
	raw, err := archive.ReadFile(ctx, store, rep.Archive.Folder+"/payload.json", 1<<20)
	if err != nil || !bytes.Contains(raw, []byte(fetcher.TokenMarker)) {
		t.Errorf("payload.json: %v; marker missing", err)
	}
	// Re-runs find the .zst objects by size and tag, and the same for a
	// local archive (verified there by decompressing).
	downloads := srv.Stats().Requests[fakebolt.RouteDownload]
	s3srv.ResetCounts()
	if code, _, errs := fetchInto(t, bucketURL, payload, host, "--compress", "zstd"); code != exitOK {
		t.Fatalf("second run: exit %d\n%s", code, errs)
	}
	if n := srv.Stats().Requests[fakebolt.RouteDownload] - downloads; n != 0 || s3srv.ContentGETs() > 8 {
		t.Errorf("second run: %d downloads, GETs of %v", n, s3srv.GETKeys())
	}
	local := t.TempDir()
	var counts []int
	for range 2 {
		if code, _, errs := fetchInto(t, local, payload, host, "--compress", "zstd"); code != exitOK {
			t.Fatalf("local: exit %d\n%s", code, errs)
		}
		counts = append(counts, srv.Stats().Requests[fakebolt.RouteDownload])
	}
	if first, second := counts[0]-downloads, counts[1]-counts[0]; first == 0 || second != 0 {
		t.Errorf("local runs made %d then %d downloads, want some then 0", first, second)
	}
	an, _, _, err := archive.OpenFile(filepath.Join(local, rep.Archive.Folder, "commands", "193442", "target", "manifest.json"))
	if err != nil {
		t.Fatalf("local .zst not found through its plain name: %v", err)
	}
	an.Close()
}

// TestFetchS3MissingBucket: a missing bucket is bad configuration, exit 2
// before any request to Paradime.
func TestFetchS3MissingBucket(t *testing.T) {
	s3srv := s3Env(t)
	srv, payload, host := fakeForCLI(t, nil)
	code, _, errs := fetchInto(t, s3srv.BucketURL("nope", "x"), payload, host)
	if code != exitBadInput || !strings.Contains(errs, "bucket not found") {
		t.Fatalf("exit %d, want %d with 'bucket not found'\n%s", code, exitBadInput, errs)
	}
	if n := srv.Stats().Requests[fakebolt.RouteGraphQL]; n != 0 {
		t.Errorf("%d API requests before the bucket was found missing", n)
	}
	if strings.Contains(errs, s3fake.SecretAccessKey) {
		t.Error("the error shows the secret key")
	}
}

// TestDemoS3: the demo archives into a bucket URL too, compressed.
func TestDemoS3(t *testing.T) {
	s3srv := s3Env(t)
	var stdout, stderr bytes.Buffer
	code := run([]string{"demo", "--out", s3srv.BucketURL("arch", "demo"), "--compress", "zstd", "--format", "json"},
		&iostreams{In: strings.NewReader(""), Out: &stdout, Err: &stderr, Getenv: noEnv})
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	var rep fetcher.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Archive.Location != "s3://arch/demo" || !rep.Summary.Complete || rep.Summary.Analyses == 0 {
		t.Fatalf("archive %+v, summary %+v", rep.Archive, rep.Summary)
	}
	if s3srv.PUTs() == 0 {
		t.Fatal("nothing was uploaded")
	}
}
