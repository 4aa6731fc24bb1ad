//go:build nocloud

package main

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

// TestNoCloudOut: in a build with -tags nocloud, --out with a URL is bad
// configuration (exit 2) whose message names the tag, and --version says
// that no object storage is built in.
func TestNoCloudOut(t *testing.T) {
	_, err := openOut(context.Background(), "s3://bucket/prefix", slog.New(slog.DiscardHandler))
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitBadInput {
		t.Fatalf("openOut = %v, want exit %d", err, exitBadInput)
	}
	if !strings.Contains(err.Error(), "-tags nocloud") || !strings.Contains(err.Error(), "s3://bucket/prefix") {
		t.Fatalf("message does not name the tag and the URL: %v", err)
	}
	if v := versionLine(); !strings.Contains(v, "object storage: none") {
		t.Fatalf("versionLine() = %q", v)
	}
}
