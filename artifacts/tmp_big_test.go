package artifacts

import (
	"context"
	"os"
	"testing"
	"time"
)

func TestTryBig(t *testing.T) {
	if os.Getenv("BIG") == "" {
		t.Skip()
	}
	for range 5 {
		t0 := time.Now()
		_, err := AnalyzeFiles(context.Background(), "/tmp/big/manifest.json", "/tmp/big/run_results.json", Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Log(time.Since(t0))
	}
}
