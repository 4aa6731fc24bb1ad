//go:build nocloud

package blobstore_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/boltfetch/boltfetch/archive/blobstore"
)

// TestNoCloudBuild: a build with -tags nocloud refuses every URL as
// configuration, naming the tag, and still opens a folder.
func TestNoCloudBuild(t *testing.T) {
	if len(blobstore.Drivers) != 0 {
		t.Fatalf("Drivers = %v in a nocloud build", blobstore.Drivers)
	}
	for _, u := range []string{"s3://bucket/prefix?region=eu-west-1", "gs://b", "azblob://c/p", "file:///tmp/x"} {
		_, err := blobstore.OpenOut(context.Background(), u, blobstore.Options{})
		var ce *blobstore.ConfigError
		if !errors.As(err, &ce) || !errors.Is(err, blobstore.ErrNoDrivers) {
			t.Fatalf("OpenOut(%q) = %v, want a ConfigError wrapping ErrNoDrivers", u, err)
		}
		if ce.Location == "" || filepath.Base(ce.Location) == "" {
			t.Fatalf("OpenOut(%q): no location in %v", u, err)
		}
	}
	st, err := blobstore.OpenOut(context.Background(), t.TempDir(), blobstore.Options{})
	if err != nil {
		t.Fatalf("a folder: %v", err)
	}
	st.Close()
}
