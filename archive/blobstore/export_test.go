//go:build !nocloud

package blobstore

// IsNoSuchUpload is isNoSuchUpload, for the tests.
var IsNoSuchUpload = isNoSuchUpload
