package main

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/boltfetch/boltfetch/internal/demodata"
	"github.com/boltfetch/boltfetch/internal/fakebolt"
)

// TestCLIProcess is not a test: it is the boltfetch process that
// TestFetchInterrupt starts (the os/exec helper-process pattern).
func TestCLIProcess(t *testing.T) {
	if os.Getenv("BOLTFETCH_CLI_PROCESS") != "1" {
		t.Skip("helper process for TestFetchInterrupt")
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	os.Exit(run(args, defaultStreams()))
}

// TestFetchInterrupt sends a real SIGINT, SIGTERM or SIGHUP (a dropped ssh
// session) to a boltfetch process in the middle of its downloads: each ends
// alike, exit 1 with a report, no partial file under a final name and no
// temp file.
func TestFetchInterrupt(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGINT on Windows")
	}
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			testInterrupt(t, sig)
		})
	}
}

func testInterrupt(t *testing.T, sig syscall.Signal) {
	srv := fakebolt.New(fakebolt.Options{APIKey: "k", APISecret: "s", BytesPerSec: 256 << 10})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	run := demodata.Run()
	srv.AddRun(run)
	payload, err := srv.CompletedPayload(run.ID)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pfile := filepath.Join(dir, "payload.json")
	if err := os.WriteFile(pfile, payload, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "archive")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCLIProcess$", "--",
		"fetch", "--out", out, "--api-key", "k", "--api-secret", "s", "--allow-host", "127.0.0.1", pfile)
	cmd.Env = append(os.Environ(), "BOLTFETCH_CLI_PROCESS=1", "PARADIME_API_ENDPOINT=", "PARADIME_API_KEY=", "PARADIME_API_SECRET=", "PARADIME_WORKSPACE_UID=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until a download is under way (a temp file exists), then interrupt.
	deadline := time.Now().Add(10 * time.Second)
	for !hasTemp(out) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no download started\n%s", stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitPartial {
		t.Fatalf("exit: %v, want code %d\nstdout:\n%s\nstderr:\n%s", err, exitPartial, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "canceled") {
		t.Errorf("the report does not say what was cut:\n%s", stdout.String())
	}
	src := map[string][]byte{}
	for _, c := range run.Commands {
		for _, r := range c.Resources {
			src[filepath.Join(out, "demo-jaffle/daily_run/63187/commands", itoa(c.ID), r.Path)] = r.Data
		}
	}
	filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.Contains(d.Name(), ".boltfetch-tmp-") {
			t.Errorf("temp file left: %s", p)
		}
		if want, ok := src[p]; ok {
			if got, _ := os.ReadFile(p); !bytes.Equal(got, want) {
				t.Errorf("%s is under its final name but incomplete (%d of %d bytes)", p, len(got), len(want))
			}
		}
		return nil
	})
	if _, err := os.Stat(filepath.Join(out, "demo-jaffle/daily_run/63187/report.json")); err != nil {
		t.Errorf("no report.json after the interrupt: %v", err)
	}
}

func hasTemp(dir string) bool {
	found := false
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".boltfetch-tmp-") {
			found = true
		}
		return nil
	})
	return found
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
