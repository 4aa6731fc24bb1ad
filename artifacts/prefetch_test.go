package artifacts

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// memReader is a MemoryReader over a string.
type memReader struct{ *strings.Reader }

func (memReader) ReadsFromMemory() bool { return true }

// The read-ahead is skipped over a MemoryReader, also behind the size
// limit, and kept over anything else; both read the same bytes.
func TestPrefetchSkipsMemoryReaders(t *testing.T) {
	t.Parallel()
	data := strings.Repeat("0123456789", 100_000)
	for _, tt := range []struct {
		name   string
		r      func() io.Reader
		direct bool
	}{
		{"memory reader", func() io.Reader { return memReader{strings.NewReader(data)} }, true},
		{"memory reader behind the limit", func() io.Reader { return &limitReader{r: memReader{strings.NewReader(data)}, n: 1 << 30} }, true},
		{"other reader", func() io.Reader { return strings.NewReader(data) }, false},
		{"other reader behind the limit", func() io.Reader { return &limitReader{r: bytes.NewReader([]byte(data)), n: 1 << 30} }, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newPrefetchReader(tt.r())
			defer p.Close()
			checkPrefetch(t, p, tt.direct, data)
		})
		// The same through what the manifest pass reads: the encoding
		// check must not hide a MemoryReader (it did, and every streamed
		// analysis of a follow-up held 5 MB of read-ahead).
		t.Run(tt.name+" as the manifest pass reads it", func(t *testing.T) {
			r := tt.r()
			if l, ok := r.(*limitReader); ok {
				r = l.r
			}
			p, err := manifestInput(r, 1<<30)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			checkPrefetch(t, p, tt.direct, data)
		})
	}
}

// checkPrefetch checks that p reads straight through (or not) as direct
// says, and reads all of data.
func checkPrefetch(t *testing.T, p *prefetchReader, direct bool, data string) {
	t.Helper()
	if got := p.direct != nil; got != direct {
		t.Fatalf("reads straight through = %v, want %v", got, direct)
	}
	got, err := io.ReadAll(p)
	if err != nil || string(got) != data {
		t.Fatalf("read %d bytes, %v; want %d", len(got), err, len(data))
	}
}
