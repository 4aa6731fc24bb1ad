package fetcher

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"
)

func TestStreamTee(t *testing.T) {
	t.Parallel()
	t.Run("clean", func(t *testing.T) {
		tee := newStreamTee()
		done := make(chan []byte)
		go func() { b, _ := io.ReadAll(tee); done <- b }()
		tee.Write([]byte("hello "))
		tee.Write([]byte("world"))
		tee.finish(true)
		if got := <-done; string(got) != "hello world" || !tee.complete() {
			t.Fatalf("read %q, complete %v", got, tee.complete())
		}
	})
	t.Run("small writes, concurrent reader, backpressure", func(t *testing.T) {
		tee := newStreamTee()
		var want bytes.Buffer
		done := make(chan []byte)
		go func() { got, _ := io.ReadAll(tee); done <- got }()
		for i := range 40000 { // about 14 MB: more than teeLimit
			p := bytes.Repeat([]byte{byte(i)}, i%700+1)
			want.Write(p)
			tee.Write(p)
		}
		tee.finish(true)
		if got := <-done; !bytes.Equal(got, want.Bytes()) || !tee.complete() {
			t.Fatalf("read %d bytes, wrote %d; complete %v", len(got), want.Len(), tee.complete())
		}
	})
	t.Run("handed buffers and writes, interleaved, with backpressure", func(t *testing.T) {
		// hand is how the download gives its buffers without a copy; a
		// reader with a small buffer also leaves chunks partly read.
		tee := newStreamTee()
		var want bytes.Buffer
		done := make(chan []byte)
		go func() {
			var got []byte
			p := make([]byte, 1000)
			for {
				n, err := tee.Read(p)
				got = append(got, p[:n]...)
				if err != nil {
					done <- got
					return
				}
			}
		}()
		for i := range 200 { // about 25 MB: many times teeLimit
			if i%3 == 2 {
				p := bytes.Repeat([]byte{byte(i)}, i%700+1)
				want.Write(p)
				tee.Write(p)
				continue
			}
			b := getChunk()
			n := len(*b)/2 + i*97%(len(*b)/2)
			for j := range n {
				(*b)[j] = byte(i + j)
			}
			want.Write((*b)[:n])
			tee.hand(b, n)
		}
		tee.finish(true)
		if got := <-done; !bytes.Equal(got, want.Bytes()) || !tee.complete() {
			t.Fatalf("read %d bytes, wrote %d; complete %v", len(got), want.Len(), tee.complete())
		}
	})
	t.Run("a buffer handed after the reader left is not kept", func(t *testing.T) {
		tee := newStreamTee()
		tee.detach()
		tee.hand(getChunk(), 10)
		if tee.queued != 0 || len(tee.chunks) != 0 || !tee.wrote {
			t.Fatalf("queued %d in %d chunks, wrote %v", tee.queued, len(tee.chunks), tee.wrote)
		}
		tee.finish(true)
		if !tee.complete() {
			t.Fatal("not complete")
		}
	})
	t.Run("failed attempt abandons", func(t *testing.T) {
		tee := newStreamTee()
		tee.Write([]byte("part"))
		tee.attemptFailed()
		tee.Write([]byte("whole")) // the retry: swallowed
		tee.finish(true)
		if _, err := io.ReadAll(tee); !errors.Is(err, errAbandoned) || tee.complete() {
			t.Fatalf("err %v, complete %v", err, tee.complete())
		}
	})
	t.Run("failure before any byte keeps the stream", func(t *testing.T) {
		tee := newStreamTee()
		tee.attemptFailed() // e.g. an expired URL
		tee.Write([]byte("x"))
		tee.finish(true)
		if b, err := io.ReadAll(tee); err != nil || string(b) != "x" {
			t.Fatalf("%q %v", b, err)
		}
	})
	t.Run("a stalled reader is abandoned", func(t *testing.T) {
		tee := newStreamTee()
		tee.stall = 20 * time.Millisecond
		chunk := bytes.Repeat([]byte("x"), 1<<20)
		for range 2 * teeLimit >> 20 { // nobody reads
			if n, err := tee.Write(chunk); n != len(chunk) || err != nil {
				t.Fatal(n, err)
			}
		}
		tee.finish(true)
		if _, err := io.ReadAll(tee); !errors.Is(err, errAbandoned) {
			t.Fatalf("err %v, want abandoned", err)
		}
	})
	t.Run("detached reader releases the writer", func(t *testing.T) {
		tee := newStreamTee()
		chunk := bytes.Repeat([]byte("x"), 1<<20)
		go func() {
			time.Sleep(10 * time.Millisecond)
			tee.detach()
		}()
		for range 2 * teeLimit >> 20 { // blocks until detach
			tee.Write(chunk)
		}
		tee.finish(true)
		if !tee.complete() {
			t.Fatal("a detached stream that ended cleanly is not complete")
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
