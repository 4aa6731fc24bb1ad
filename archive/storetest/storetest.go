// Package storetest is the conformance suite of archive.Store: every
// implementation (the local folder now, object storage later) runs it, so
// they behave the same and are tested the same way.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/boltfetch/boltfetch/archive"
)

// Run checks the behaviour fetcher relies on. newStore returns an empty
// store, cleaned up by the test.
func Run(t *testing.T, newStore func(t *testing.T) archive.Store) {
	ctx := context.Background()

	t.Run("nothing before commit, everything after", func(t *testing.T) {
		s := newStore(t)
		w, err := s.Create(ctx, "a/b/c.json")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("hello")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Stat(ctx, "a/b/c.json"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Stat before Commit: %v, want fs.ErrNotExist", err)
		}
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := w.Abort(); err != nil {
			t.Fatalf("Abort after Commit: %v, want nil", err)
		}
		checkContent(t, s, "a/b/c.json", "hello")
	})

	t.Run("abort leaves nothing", func(t *testing.T) {
		s := newStore(t)
		w, err := s.Create(ctx, "x.json")
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("partial"))
		if err := w.Abort(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Stat(ctx, "x.json"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Stat after Abort: %v, want fs.ErrNotExist", err)
		}
		if _, err := s.Open(ctx, "x.json"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Open after Abort: %v, want fs.ErrNotExist", err)
		}
	})

	t.Run("an aborted rewrite keeps the old content", func(t *testing.T) {
		s := newStore(t)
		if _, err := archive.WriteFile(ctx, s, "k", []byte("old")); err != nil {
			t.Fatal(err)
		}
		w, err := s.Create(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("new but cut"))
		w.Abort()
		checkContent(t, s, "k", "old")
		if _, err := archive.WriteFile(ctx, s, "k", []byte("new")); err != nil {
			t.Fatal(err)
		}
		checkContent(t, s, "k", "new")
	})

	t.Run("digests", func(t *testing.T) {
		s := newStore(t)
		d, err := archive.WriteFile(ctx, s, "d/e", []byte("hello"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := archive.Hash(ctx, s, "d/e")
		if err != nil || got != d {
			t.Fatalf("Hash = %+v, %v; WriteFile said %+v", got, err, d)
		}
		if ok, err := archive.Verify(ctx, s, "d/e", d); !ok || err != nil {
			t.Fatalf("Verify = %v, %v", ok, err)
		}
		if ok, _ := archive.Verify(ctx, s, "d/e", archive.Digest{Bytes: 5, SHA256: "0"}); ok {
			t.Fatal("Verify accepted a wrong digest")
		}
		if ok, err := archive.Verify(ctx, s, "d/missing", d); ok || err != nil {
			t.Fatalf("Verify of a missing key = %v, %v; want false, nil", ok, err)
		}
	})

	t.Run("unsafe keys are refused", func(t *testing.T) {
		s := newStore(t)
		for _, k := range []string{"", "../x", "/x", "a//b", "a/../b", `a\b`, "CON", "a:b", "a/"} {
			if _, err := s.Create(ctx, k); err == nil {
				t.Errorf("Create(%q) accepted", k)
			}
			if _, err := s.Open(ctx, k); err == nil {
				t.Errorf("Open(%q) accepted", k)
			}
		}
	})

	t.Run("concurrent writers", func(t *testing.T) {
		s := newStore(t)
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				key := fmt.Sprintf("c/%d/f.json", i%4) // 4 writers per key
				if _, err := archive.WriteFile(ctx, s, key, bytes.Repeat([]byte{byte('a' + i%4)}, 64<<10)); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		for i := range 4 {
			checkContent(t, s, fmt.Sprintf("c/%d/f.json", i), string(bytes.Repeat([]byte{byte('a' + i)}, 64<<10)))
		}
	})

	t.Run("cancelled context", func(t *testing.T) {
		s := newStore(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.Create(cctx, "z"); err == nil {
			t.Fatal("Create with a cancelled context succeeded")
		}
	})

	t.Run("locker, when implemented", func(t *testing.T) {
		s := newStore(t)
		l, ok := s.(archive.Locker)
		if !ok {
			t.Skip("the store is not an archive.Locker: fetcher serialises its writers in-process")
		}
		// One holder at a time, and a waiting Lock ends with its context.
		var inside, most atomic.Int32
		var wg sync.WaitGroup
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				unlock, err := l.Lock(ctx, "run/1")
				if err != nil {
					t.Error(err)
					return
				}
				if n := inside.Add(1); n > most.Load() {
					most.Store(n)
				}
				time.Sleep(time.Millisecond)
				inside.Add(-1)
				unlock()
			}()
		}
		wg.Wait()
		if most.Load() != 1 {
			t.Fatalf("%d holders of one folder's lock at once", most.Load())
		}
		unlock, err := l.Lock(ctx, "run/1")
		if err != nil {
			t.Fatal(err)
		}
		short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		defer cancel()
		if _, err := l.Lock(short, "run/1"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Lock of a held folder = %v, want context.DeadlineExceeded", err)
		}
		// Writes under the lock work, and the lock does not show as a key
		// a writer could replace.
		if _, err := archive.WriteFile(ctx, s, "run/1/command.json", []byte("{}")); err != nil {
			t.Fatal(err)
		}
		unlock()
		unlock()
	})

	t.Run("location", func(t *testing.T) {
		if newStore(t).Location() == "" {
			t.Fatal("empty Location")
		}
	})
}

func checkContent(t *testing.T, s archive.Store, key, want string) {
	t.Helper()
	ctx := context.Background()
	info, err := s.Stat(ctx, key)
	if err != nil || info.Size != int64(len(want)) {
		t.Fatalf("Stat(%s) = %+v, %v; want size %d", key, info, err, len(want))
	}
	r, err := s.Open(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil || string(got) != want {
		t.Fatalf("content of %s = %q, %v; want %q", key, got, err, want)
	}
}
