//go:build !nocloud

package blobstore_test

import (
	"context"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
)

// azuriteKey is Azurite's published development account key.
const azuriteKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

// createAzureContainer creates a container in Azurite at endpoint (such as
// http://127.0.0.1:10000/devstoreaccount1).
func createAzureContainer(t *testing.T, endpoint, account, name string) {
	t.Helper()
	conn := "DefaultEndpointsProtocol=http;AccountName=" + account + ";AccountKey=" + azuriteKey + ";BlobEndpoint=" + endpoint + ";"
	c, err := azblob.NewClientFromConnectionString(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateContainer(context.Background(), name, nil); err != nil {
		t.Fatal(err)
	}
}
