package artifacts

import (
	"bufio"
	"os"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

func TestFloor(t *testing.T) {
	if os.Getenv("BIG") == "" {
		t.Skip()
	}
	for _, mode := range []string{"skip", "readvalue-nodes", "tokens"} {
		f, _ := os.Open("/tmp/big/manifest.json")
		t0 := time.Now()
		dec := jsontext.NewDecoder(bufio.NewReaderSize(f, 1<<20), decoderOptions...)
		switch mode {
		case "skip":
			if err := dec.SkipValue(); err != nil {
				t.Fatal(err)
			}
		case "readvalue-nodes":
			dec.ReadToken()
			for dec.PeekKind() != '}' {
				n, _ := dec.ReadToken()
				if n.String() == "nodes" {
					dec.ReadToken()
					for dec.PeekKind() != '}' {
						dec.ReadValue()
						dec.ReadValue()
					}
					dec.ReadToken()
				} else {
					dec.SkipValue()
				}
			}
		case "tokens":
			for {
				_, err := dec.ReadToken()
				if err != nil {
					break
				}
			}
		}
		t.Log(mode, time.Since(t0))
		f.Close()
	}
}
