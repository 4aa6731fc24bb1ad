//go:build !nocloud

package main

import (
	"strings"
	"testing"
)

// TestVersionLine: --version names the object-storage schemes built in.
func TestVersionLine(t *testing.T) {
	if v := versionLine(); !strings.Contains(v, "object storage: s3, gs, azblob, file") {
		t.Fatalf("versionLine() = %q", v)
	}
}
