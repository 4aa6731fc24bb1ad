package blobstore

import (
	"errors"
	"io/fs"
	"testing"
)

func TestScrub(t *testing.T) {
	in := `GET https://acct.blob.core.windows.net/c/k?sv=2020&sig=SECRET%3D RESPONSE 403; also http://127.0.0.1:9000/b?X-Amz-Signature=abc, done`
	got := scrub(in)
	want := `GET https://acct.blob.core.windows.net/c/k?(query removed) RESPONSE 403; also http://127.0.0.1:9000/b?(query removed) done`
	if got != want {
		t.Fatalf("scrub:\n got %s\nwant %s", got, want)
	}
	err := scrubbed(fs.ErrNotExist)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("a scrubbed error no longer unwraps")
	}
	if scrubbed(nil) != nil {
		t.Fatal("scrubbed(nil) != nil")
	}
}
