package fetcher

import (
	"bytes"
	"errors"
	"io"
	"sync/atomic"
	"testing"
)

func budget() *atomic.Int64 {
	b := new(atomic.Int64)
	b.Store(teeBudget)
	return b
}

func TestStreamTee(t *testing.T) {
	t.Parallel()
	t.Run("clean", func(t *testing.T) {
		tee := newStreamTee(budget())
		done := make(chan []byte)
		go func() { b, _ := io.ReadAll(tee); done <- b }()
		tee.Write([]byte("hello "))
		tee.Write([]byte("world"))
		tee.finish(true)
		if got := <-done; string(got) != "hello world" || !tee.complete() {
			t.Fatalf("read %q, complete %v", got, tee.complete())
		}
	})
	t.Run("small writes, concurrent reader", func(t *testing.T) {
		b := budget()
		tee := newStreamTee(b)
		var want bytes.Buffer
		done := make(chan []byte)
		go func() { got, _ := io.ReadAll(tee); done <- got }()
		for i := range 20000 {
			p := bytes.Repeat([]byte{byte(i)}, i%700+1)
			want.Write(p)
			tee.Write(p)
		}
		tee.finish(true)
		if got := <-done; !bytes.Equal(got, want.Bytes()) || !tee.complete() {
			t.Fatalf("read %d bytes, wrote %d; complete %v", len(got), want.Len(), tee.complete())
		}
		if b.Load() != teeBudget {
			t.Errorf("budget %d after the stream, want %d back", b.Load(), teeBudget)
		}
	})
	t.Run("failed attempt abandons", func(t *testing.T) {
		tee := newStreamTee(budget())
		tee.Write([]byte("part"))
		tee.attemptFailed()
		tee.Write([]byte("whole")) // the retry: swallowed
		tee.finish(true)
		if _, err := io.ReadAll(tee); !errors.Is(err, errAbandoned) || tee.complete() {
			t.Fatalf("err %v, complete %v", err, tee.complete())
		}
	})
	t.Run("failure before any byte keeps the stream", func(t *testing.T) {
		tee := newStreamTee(budget())
		tee.attemptFailed() // e.g. an expired URL
		tee.Write([]byte("x"))
		tee.finish(true)
		if b, err := io.ReadAll(tee); err != nil || string(b) != "x" {
			t.Fatalf("%q %v", b, err)
		}
	})
	t.Run("lagging reader never blocks the writer", func(t *testing.T) {
		tee := newStreamTee(budget())
		chunk := bytes.Repeat([]byte("x"), 1<<20)
		for range 2 * teeBudget >> 20 {
			if n, err := tee.Write(chunk); n != len(chunk) || err != nil {
				t.Fatal(n, err)
			}
		}
		tee.finish(true)
		if _, err := io.ReadAll(tee); !errors.Is(err, errAbandoned) {
			t.Fatalf("err %v, want abandoned", err)
		}
	})
	t.Run("detached reader", func(t *testing.T) {
		b := budget()
		tee := newStreamTee(b)
		tee.Write([]byte("abc"))
		tee.detach()
		tee.Write(bytes.Repeat([]byte("x"), 2*teeBudget)) // not kept, no abandon
		tee.finish(true)
		if !tee.complete() || b.Load() != teeBudget {
			t.Fatalf("complete %v, budget %d", tee.complete(), b.Load())
		}
	})
	t.Run("nil tee", func(t *testing.T) {
		var tee *streamTee
		tee.attemptFailed()
		tee.finish(true)
		if tee.complete() {
			t.Fatal("nil tee complete")
		}
	})
}
