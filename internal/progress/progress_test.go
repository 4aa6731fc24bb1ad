package progress

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestBars(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	b := New(&out)
	ok := b.Task("193442 target/manifest.json")
	ok.SetTotal(2048)
	ok.Add(1024)
	ok.Add(1024)
	ok.Done(nil)
	bad := b.Task("193442 target/run_results.json")
	bad.Add(10)
	bad.Done(errors.New("boom"))
	b.Task("left running")
	b.Close() // must not hang on the bar left running
	s := out.String()
	for _, want := range []string{"193442 target/manifest.json", "193442 target/run_results.json failed"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
}
