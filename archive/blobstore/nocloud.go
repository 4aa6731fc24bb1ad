//go:build nocloud

package blobstore

import (
	"context"
	"errors"
	"net/url"
)

// Drivers lists the URL schemes this build can open: none, as it was built
// with -tags nocloud.
var Drivers []string

// ErrNoDrivers is the cause of the ConfigError for any URL in a build
// without the object-storage drivers.
var ErrNoDrivers = errors.New("this boltfetch was built with -tags nocloud, without the s3, gs, azblob and file drivers; use a folder, or a build without that tag")

// openURL refuses every URL: this build has no driver.
func openURL(_ context.Context, rawURL string, _ Options) (ClosableStore, error) {
	loc := "(unparsable URL)"
	if u, err := url.Parse(rawURL); err == nil {
		loc = Location(u)
	}
	return nil, &ConfigError{Location: loc, Reason: "no object-storage driver in this build", Err: ErrNoDrivers}
}
