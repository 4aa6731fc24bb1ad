package archive_test

import (
	"testing"

	"github.com/boltfetch/boltfetch/archive"
	"github.com/boltfetch/boltfetch/archive/storetest"
)

func TestLocalConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) archive.Store {
		l, err := archive.NewLocal(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	})
}
