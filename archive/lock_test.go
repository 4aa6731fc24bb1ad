package archive

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A lock excludes every other Lock of the folder in this process, through
// the same *Local or another one on the same folder, and a waiting Lock
// gives up when its context ends.
func TestLockExcludesInProcess(t *testing.T) {
	t.Parallel()
	l, dir := newLocal(t)
	other, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	var inside, most atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := l
			if i%2 == 1 {
				s = other
			}
			unlock, err := s.Lock(ctx, "ws/sched/1")
			if err != nil {
				t.Error(err)
				return
			}
			n := inside.Add(1)
			if n > most.Load() {
				most.Store(n)
			}
			time.Sleep(2 * time.Millisecond)
			inside.Add(-1)
			unlock()
			unlock() // a second call does nothing
		}()
	}
	wg.Wait()
	if most.Load() != 1 {
		t.Fatalf("%d holders at once, want 1", most.Load())
	}

	unlock, err := l.Lock(ctx, "ws/sched/1")
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	if _, err := other.Lock(short, "ws/sched/1"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock of a held folder = %v, want context.DeadlineExceeded", err)
	}
	// Another folder is not held.
	u2, err := other.Lock(ctx, "ws/sched/2")
	if err != nil {
		t.Fatal(err)
	}
	u2()
	unlock()
}

// TestLockHelperProcess is not a test: TestLockExcludesProcesses runs it in
// a child process to hold a lock there.
func TestLockHelperProcess(t *testing.T) {
	dir := os.Getenv("BOLTFETCH_LOCK_HELPER_DIR")
	if dir == "" {
		t.Skip("helper process only")
	}
	l, err := NewLocal(dir)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	unlock, err := l.Lock(context.Background(), "run")
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	bufio.NewReader(os.Stdin).ReadString('\n')
	unlock()
	os.Exit(0)
}

// The lock file excludes another process, and a process that dies releases
// its lock.
func TestLockExcludesProcesses(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no file lock on Windows: in-process only")
	}
	t.Parallel()
	l, dir := newLocal(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelperProcess$")
	cmd.Env = append(os.Environ(), "BOLTFETCH_LOCK_HELPER_DIR="+dir)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "locked\n" {
		t.Fatalf("helper said %q", line)
	}
	ctx := context.Background()
	short, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
	defer cancel()
	if _, err := l.Lock(short, "run"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock held by another process = %v, want context.DeadlineExceeded", err)
	}
	// The helper is killed while holding the lock: it is released.
	stdin.Close()
	cmd.Process.Kill()
	cmd.Wait()
	waitCtx, cancel2 := context.WithTimeout(ctx, 10*time.Second)
	defer cancel2()
	unlock, err := l.Lock(waitCtx, "run")
	if err != nil {
		t.Fatalf("Lock after the holder died: %v", err)
	}
	unlock()
}

// Temp files are swept only by the holder of the folder's lock: the temp
// file of a live writer that holds the lock survives every other Lock
// attempt, and a stale one (its writer died) goes when the lock is taken.
// Folders with a lock of their own are not swept by an outer lock.
func TestLockSweepsStaleTempFilesOnlyUnderTheLock(t *testing.T) {
	t.Parallel()
	l, dir := newLocal(t)
	ctx := context.Background()

	unlockA, err := l.Lock(ctx, "run")
	if err != nil {
		t.Fatal(err)
	}
	w, err := l.Create(ctx, "run/commands/1/target/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("in flight"))
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	if _, err := l.Lock(short, "run"); err == nil {
		t.Fatal("a second Lock of a held folder succeeded")
	}
	if n := countTemp(t, dir); n != 1 {
		t.Fatalf("%d temp files while the writer holds the lock, want 1 (its own)", n)
	}
	if err := w.Commit(); err != nil {
		t.Fatalf("the writer's file was swept under it: %v", err)
	}
	unlockA()

	// Stale temp files, as a SIGKILL leaves them, at two depths, and one
	// inside a folder that has a lock of its own.
	for _, p := range []string{"run/" + tempPrefix + "a", "run/commands/1/" + tempPrefix + "b", "run/inner/" + tempPrefix + "c"} {
		full := filepath.Join(dir, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte("stale"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "run", "inner", LockName), nil, 0o644)
	unlockB, err := l.Lock(ctx, "run")
	if err != nil {
		t.Fatal(err)
	}
	defer unlockB()
	if n := countTemp(t, dir); n != 1 {
		t.Fatalf("%d temp files after the sweep, want 1 (in the folder with its own lock)", n)
	}
	if _, err := os.Stat(filepath.Join(dir, "run", "inner", tempPrefix+"c")); err != nil {
		t.Fatal("the temp file under another lock was swept")
	}
	checkFile(t, dir, "run/commands/1/target/manifest.json", "in flight")
}

// The lock file is reserved: no key may replace it.
func TestLockFileReserved(t *testing.T) {
	t.Parallel()
	l, _ := newLocal(t)
	if _, err := l.Create(context.Background(), "run/"+LockName); err == nil {
		t.Fatal("Create of a lock file name accepted")
	}
}

func countTemp(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	for _, f := range files(t, dir) {
		if len(filepath.Base(f)) > len(tempPrefix) && filepath.Base(f)[:len(tempPrefix)] == tempPrefix {
			n++
		}
	}
	return n
}

func checkFile(t *testing.T, dir, key, want string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(key)))
	if err != nil || string(b) != want {
		t.Fatalf("%s = %q, %v; want %q", key, b, err, want)
	}
}
