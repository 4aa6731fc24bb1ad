// Package sharedtest locates the project's reference material (the shared/
// folder that sits beside the repository) for tests that sweep it.
package sharedtest

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the absolute path of shared/<sub>, looked up from the
// BOLTFETCH_SHARED environment variable or as ../shared beside the module
// root. It skips the test with a clear message when the folder is absent, so
// the suite still passes on a clone without shared/.
func Dir(tb testing.TB, sub string) string {
	tb.Helper()
	root := os.Getenv("BOLTFETCH_SHARED")
	if root == "" {
		mod, err := moduleRoot()
		if err != nil {
			tb.Skipf("shared/%s: cannot find the module root: %v", sub, err)
		}
		root = filepath.Join(filepath.Dir(mod), "shared")
	}
	dir := filepath.Join(root, sub)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		tb.Skipf("shared/%s not present at %s (set BOLTFETCH_SHARED to the shared folder to run this test)", sub, dir)
	}
	return dir
}

// moduleRoot walks up from the working directory to the folder holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}

// Fixture returns the absolute path of testdata/<rel> at the module root:
// the fixtures more than one package uses (see testdata/PROVENANCE.md). It
// fails the test when the file is absent: unlike shared/, testdata/ is part
// of the repository.
func Fixture(tb testing.TB, rel string) string {
	tb.Helper()
	mod, err := moduleRoot()
	if err != nil {
		tb.Fatalf("testdata/%s: cannot find the module root: %v", rel, err)
	}
	p := filepath.Join(mod, "testdata", filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("fixture testdata/%s: %v", rel, err)
	}
	return p
}
