//go:build !nocloud

package blobstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/fsouza/fake-gcs-server/fakestorage"

	"github.com/boltfetch/boltfetch/archive"
	"github.com/boltfetch/boltfetch/archive/blobstore"
	"github.com/boltfetch/boltfetch/archive/storetest"
	"github.com/boltfetch/boltfetch/internal/s3fake"
)

var (
	s3srv  *s3fake.Server
	gcssrv *fakestorage.Server
	seq    atomic.Int64
)

// TestMain starts the in-process S3 and GCS servers once: the SDKs read
// their endpoints and credentials from the environment, which tests may not
// change in parallel.
func TestMain(m *testing.M) {
	s3fake.SetEnv()
	var err error
	if s3srv, err = s3fake.Start("conf"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	gcssrv, err = fakestorage.NewServerWithOptions(fakestorage.Options{Scheme: "http", Host: "127.0.0.1", Port: uint16(port), PublicHost: fmt.Sprintf("127.0.0.1:%d", port)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("STORAGE_EMULATOR_HOST", fmt.Sprintf("127.0.0.1:%d", port))
	code := m.Run()
	gcssrv.Stop()
	s3srv.Close()
	os.Exit(code)
}

func open(t *testing.T, rawURL string, opts blobstore.Options) *blobstore.Store {
	t.Helper()
	s, err := blobstore.Open(context.Background(), rawURL, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// uniquePrefix keeps each conformance sub-test in its own key space of the
// shared bucket.
func uniquePrefix() string { return fmt.Sprintf("run-%d", seq.Add(1)) }

func TestS3Conformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) archive.Store {
		return open(t, s3srv.BucketURL("conf", uniquePrefix()), blobstore.Options{})
	})
}

func TestFileblobConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) archive.Store {
		return open(t, "file://"+t.TempDir(), blobstore.Options{})
	})
}

func TestGCSConformance(t *testing.T) {
	gcssrv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "conf"})
	storetest.Run(t, func(t *testing.T) archive.Store {
		return open(t, "gs://conf/"+uniquePrefix(), blobstore.Options{})
	})
}

// TestAzuriteConformance runs against Azurite at BOLTFETCH_TEST_AZURITE,
// such as http://127.0.0.1:10000/devstoreaccount1 (CI starts it).
func TestAzuriteConformance(t *testing.T) {
	raw := os.Getenv("BOLTFETCH_TEST_AZURITE")
	if raw == "" {
		t.Skip("BOLTFETCH_TEST_AZURITE is not set")
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	account := strings.Trim(u.Path, "/")
	// Azurite's published development account key.
	t.Setenv("AZURE_STORAGE_ACCOUNT", account)
	t.Setenv("AZURE_STORAGE_KEY", azuriteKey)
	container := fmt.Sprintf("boltfetch-test-%d", time.Now().UnixNano())
	createAzureContainer(t, raw, account, container)
	storetest.Run(t, func(t *testing.T) archive.Store {
		q := url.Values{"protocol": {u.Scheme}, "domain": {u.Host}, "localemu": {"true"}}
		return open(t, "azblob://"+container+"/"+uniquePrefix()+"?"+q.Encode(), blobstore.Options{})
	})
}

func TestLocation(t *testing.T) {
	s := open(t, s3srv.BucketURL("conf", "team/archive"), blobstore.Options{})
	if got, want := s.Location(), "s3://conf/team/archive"; got != want {
		t.Fatalf("Location = %q, want %q (no query string)", got, want)
	}
	if strings.Contains(s.Location(), "127.0.0.1") {
		t.Fatal("Location leaks the endpoint")
	}
}

func TestConfigErrors(t *testing.T) {
	ctx := context.Background()
	for name, raw := range map[string]string{
		"missing bucket": s3srv.BucketURL("no-such-bucket", "p"),
		"unknown scheme": "ftp://host/x",
		"bad prefix":     s3srv.BucketURL("conf", "a/../b"),
		"bad query":      "s3://conf/p?region=us-east-1&nonsense=1",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := blobstore.Open(ctx, raw, blobstore.Options{})
			var ce *blobstore.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("Open = %v, want a *ConfigError", err)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Fatalf("error leaks a credential: %v", err)
			}
		})
	}
	var ce *blobstore.ConfigError
	_, err := blobstore.Open(ctx, s3srv.BucketURL("no-such-bucket", "p"), blobstore.Options{})
	if errors.As(err, &ce) && ce.Reason != "bucket not found" {
		t.Fatalf("reason %q, want bucket not found", ce.Reason)
	}
}

func TestOpenOut(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := blobstore.OpenOut(ctx, dir, blobstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.(*archive.Local); !ok {
		t.Fatalf("a plain path opened %T, want *archive.Local", s)
	}
	for in, want := range map[string]bool{dir: false, "./out": false, `C:\x`: false, "s3://b/p": true, "file:///x": true, "gs://b": true, "a://b": true, "x/y://z": false} {
		if got := blobstore.IsURL(in); got != want {
			t.Errorf("IsURL(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestStreamingMultipart writes several parts' worth through S3 and checks
// that nothing is visible before Commit, that Abort leaves neither object
// nor upload, and that the content arrives whole.
func TestStreamingMultipart(t *testing.T) {
	ctx := context.Background()
	s := open(t, s3srv.BucketURL("conf", uniquePrefix()), blobstore.Options{PartSize: 5 << 20})
	// 20 MiB: past the SDK's multipart threshold (16 MiB), four parts.
	data := bytes.Repeat([]byte("0123456789abcdef"), (20<<20)/16)

	w, err := s.Create(ctx, "big/a.bin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	// The transfer manager starts the multipart upload on its own
	// goroutine once a part is full.
	for deadline := time.Now().Add(5 * time.Second); countUploads(t, s) != 1; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d multipart uploads in progress, want 1", countUploads(t, s))
		}
	}
	if _, err := s.Stat(ctx, "big/a.bin"); err == nil {
		t.Fatal("object visible before Commit")
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if n := countUploads(t, s); n != 0 {
		t.Fatalf("%d multipart uploads left after Abort, want 0", n)
	}
	if _, err := s.Stat(ctx, "big/a.bin"); err == nil {
		t.Fatal("object visible after Abort")
	}

	cw, err := archive.CreateContent(ctx, s, "big/a.bin", "", archive.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(cw, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	d, err := cw.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if d.Tag == "" || d.Bytes != int64(len(data)) {
		t.Fatalf("digest %+v", d)
	}
	got, err := archive.Hash(ctx, s, "big/a.bin")
	if err != nil || got.SHA256 != d.SHA256 {
		t.Fatalf("Hash = %+v, %v; want %s", got, err, d.SHA256)
	}
}

// TestSweep aborts an upload left behind (as by kill -9) when the store is
// opened again, and leaves younger ones alone.
func TestSweep(t *testing.T) {
	ctx := context.Background()
	prefix := uniquePrefix()
	s := open(t, s3srv.BucketURL("conf", prefix), blobstore.Options{})
	var client *s3.Client
	if !s.Bucket().As(&client) {
		t.Fatal("no S3 client")
	}
	if _, err := client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("conf"), Key: aws.String(prefix + "/orphan")}); err != nil {
		t.Fatal(err)
	}
	open(t, s3srv.BucketURL("conf", prefix), blobstore.Options{}) // default age: an hour
	if n := countUploads(t, s); n != 1 {
		t.Fatalf("%d uploads after a sweep of older-than-an-hour, want the young one kept", n)
	}
	time.Sleep(10 * time.Millisecond)
	open(t, s3srv.BucketURL("conf", prefix), blobstore.Options{SweepAge: time.Millisecond})
	if n := countUploads(t, s); n != 0 {
		t.Fatalf("%d uploads after the sweep, want 0", n)
	}
}

// TestContentEncoding checks what a compressed object carries.
func TestContentEncoding(t *testing.T) {
	ctx := context.Background()
	s := open(t, s3srv.BucketURL("conf", uniquePrefix()), blobstore.Options{})
	data := []byte(strings.Repeat(`{"a": 1}`, 1000))
	d, err := archive.WriteContent(ctx, s, "x/stdout.log", archive.CompressionZstd, data, archive.CreateOptions{ContentType: "text/plain"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.Attributes(ctx, "x/stdout.log.zst")
	if err != nil {
		t.Fatal(err)
	}
	if a.ContentEncoding != "zstd" || a.Metadata[archive.MetaContentBytes] != "8000" || a.Metadata[archive.MetaContentSHA256] != d.SHA256 {
		t.Fatalf("attributes: encoding %q, metadata %v; want zstd, 8000, %s", a.ContentEncoding, a.Metadata, d.SHA256)
	}
}

func countUploads(t *testing.T, s *blobstore.Store) int {
	t.Helper()
	var client *s3.Client
	if !s.Bucket().As(&client) {
		t.Fatal("no S3 client")
	}
	out, err := client.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String("conf"), Prefix: aws.String(s.Prefix())})
	if blobstore.IsNoSuchUpload(err) {
		return 0 // gofakes3's answer for a bucket that never had an upload
	}
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Uploads)
}

// TestFailedPartLeavesNothing: a part that the server keeps refusing fails
// the commit; no object appears and the multipart upload is aborted.
func TestFailedPartLeavesNothing(t *testing.T) {
	ctx := context.Background()
	s := open(t, s3srv.BucketURL("conf", uniquePrefix()), blobstore.Options{PartSize: 5 << 20})
	s3srv.FailPUT(func(r *http.Request) bool {
		return strings.HasSuffix(r.URL.Path, "/part/x.bin") && r.URL.Query().Get("partNumber") == "2"
	})
	defer s3srv.FailPUT(nil)
	w, err := s.Create(ctx, "part/x.bin")
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("x"), 12<<20) // three parts
	_, werr := w.Write(data)
	cerr := w.Commit()
	if werr == nil && cerr == nil {
		t.Fatal("the upload succeeded with a refused part")
	}
	if _, err := s.Stat(ctx, "part/x.bin"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat after the failed upload = %v, want no object", err)
	}
	if n := countUploads(t, s); n != 0 {
		t.Fatalf("%d multipart uploads left", n)
	}
}

// TestFileblobNoTempDir: a file:// store writes its objects' temporary files
// in its own directory, never in os.TempDir (outside what the user named,
// readable by others, and a failing rename across mounts). Not parallel: it
// sets TMPDIR.
func TestFileblobNoTempDir(t *testing.T) {
	tmp := t.TempDir()
	dir := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	s := open(t, "file://"+dir, blobstore.Options{})
	ctx := context.Background()
	w, err := s.Create(ctx, "runs/1/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if _, err := w.Write([]byte(`{"nodes":{}}`)); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Fatalf("writing put %s in TMPDIR", ents[0].Name())
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Fatalf("after the commit %s is left in TMPDIR", ents[0].Name())
	}
	r, err := s.Open(ctx, "runs/1/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if b, _ := io.ReadAll(r); string(b) != `{"nodes":{}}` {
		t.Fatalf("read back %q", b)
	}
	leftover := 0
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".tmp") {
			leftover++
		}
		return nil
	})
	if leftover != 0 {
		t.Fatalf("%d temporary files left beside the objects", leftover)
	}
}
