//go:build !nocloud

// Command benchblob measures the memory of a streamed upload to object
// storage: boltfetch fetch, as a child process, archives one generated
// artifact of -size bytes (1 GiB by default) into S3. The S3 server
// (gofakes3, which holds every part in memory) runs as a process of its own
// (internal/s3fake/cmd/s3fake), the fake Bolt API in this one, so neither
// is counted.
//
// The peak RSS is boltfetch's VmHWM, polled from /proc every 10 ms while it
// runs (internal/benchproc). The child's rusage is printed too, but on Linux
// a child started with vfork (as Go starts processes) inherits its parent's
// peak as a floor of ru_maxrss, so it over-counts by this process's own size.
//
//	go run ./internal/benchblob                 # 1 GiB, as is and with --compress zstd
//	go run ./internal/benchblob -size 256MiB -modes none
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/boltfetch/boltfetch/archive/blobstore"
	"github.com/boltfetch/boltfetch/internal/benchproc"
	"github.com/boltfetch/boltfetch/internal/fakebolt"
	"github.com/boltfetch/boltfetch/internal/s3fake"
)

func main() {
	dir := flag.String("dir", filepath.Join(os.TempDir(), "boltfetch-benchblob"), "folder for the binary and the generated artifact")
	size := flag.Int64("size", 1<<30, "artifact size in bytes")
	modes := flag.String("modes", "local,none,zstd", "comma-separated --compress values to measure into S3, and local (a local folder, for a baseline)")
	flag.Parse()
	if err := run(*dir, *size, strings.Split(*modes, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "benchblob:", err)
		os.Exit(1)
	}
}

func run(dir string, size int64, modes []string) error {
	// Static credentials for the fake, and no instance-metadata lookups,
	// in this process (which reads the bucket back) and in the child.
	s3fake.SetEnv()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	bin, s3bin := filepath.Join(dir, "boltfetch"), filepath.Join(dir, "s3fake")
	for out, pkg := range map[string]string{bin: "./cmd/boltfetch", s3bin: "./internal/s3fake/cmd/s3fake"} {
		if err := benchproc.Build(out, pkg); err != nil {
			return err
		}
	}
	big := filepath.Join(dir, "big.json")
	if err := generate(big, size); err != nil {
		return err
	}

	const key, secret = "bench-key", "bench-secret"
	fb := fakebolt.New(fakebolt.Options{APIKey: key, APISecret: secret, URLTTL: time.Hour})
	if err := fb.Start(); err != nil {
		return err
	}
	defer fb.Close()
	fb.AddRun(fakebolt.Run{ID: 9, Status: "success", ScheduleName: "bench", Workspace: fakebolt.Workspace{Name: "ws", UID: "ws"},
		Commands: []fakebolt.Command{{ID: 90, Command: "dbt docs generate", Status: "success", Stdout: "ok\n",
			Resources: []fakebolt.Resource{{ID: 901, Path: "target/catalog.json", File: big}}}}})
	payload, err := fb.CompletedPayload(9)
	if err != nil {
		return err
	}
	payloadPath := filepath.Join(dir, "payload.json")
	if err := os.WriteFile(payloadPath, payload, 0o644); err != nil {
		return err
	}
	u, _ := url.Parse(fb.URL())

	fmt.Printf("artifact: %d bytes; part size %d MiB, %d parts in flight\n", size, blobstore.DefaultPartSize>>20, blobstore.DefaultPartsInFlight)
	fmt.Println("| --compress | wall | CPU | peak RSS of boltfetch (VmHWM) | ru_maxrss (with the parent's floor) | stored bytes |")
	fmt.Println("| --- | --- | --- | --- | --- | --- |")
	for _, mode := range modes {
		s3, endpoint, err := startS3(s3bin)
		if err != nil {
			return err
		}
		bucketURL := s3fake.BucketURL(endpoint, "bench", "rss")
		out := bucketURL
		if mode == "local" {
			// The baseline: the same follow-up into a local folder.
			out = filepath.Join(dir, "local-archive")
			os.RemoveAll(out)
		}
		cmd := exec.Command(bin, "fetch", "--out", out, "--artifacts", "*", "--logs", "none",
			"--max-artifact-size", "8GiB", "--compress", strings.Replace(mode, "local", "none", 1), "--api-key", key, "--api-secret", secret,
			"--allow-host", u.Hostname(), "--format", "json", payloadPath)
		cmd.Env = append(os.Environ(), strings.Fields(os.Getenv("BENCHBLOB_CHILD_ENV"))...)
		for k, v := range s3fake.Env() {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		m, err := benchproc.Run(cmd)
		if err != nil {
			s3.Stop()
			return fmt.Errorf("boltfetch fetch (--compress %s): %w", mode, err)
		}
		var stored int64
		if mode == "local" {
			var fi os.FileInfo
			if fi, err = os.Stat(filepath.Join(out, "ws/bench/9/commands/90/target/catalog.json")); err == nil {
				stored = fi.Size()
			}
		} else {
			stored, err = storedSize(bucketURL, mode)
		}
		s3.Stop()
		if err != nil {
			return err
		}
		if (mode == "none" || mode == "local") && stored != size {
			return fmt.Errorf("the bucket holds %d bytes, want %d", stored, size)
		}
		fmt.Printf("| %s | %.1f s | %.1f s | %.0f MB | %.0f MB | %d |\n", mode, m.Wall.Seconds(), m.CPU.Seconds(), float64(m.PeakRSS)*1024/1e6, float64(m.RusageMaxRSS)*1024/1e6, stored)
	}
	return nil
}

// storedSize is the size of the archived artifact in the bucket.
func storedSize(bucketURL, mode string) (int64, error) {
	st, err := blobstore.Open(context.Background(), bucketURL, blobstore.Options{SweepAge: -1})
	if err != nil {
		return 0, err
	}
	defer st.Close()
	k := "ws/bench/9/commands/90/target/catalog.json"
	if mode == "zstd" {
		k += ".zst"
	}
	info, err := st.Stat(context.Background(), k)
	return info.Size, err
}

// generate writes a JSON-shaped file of exactly size bytes (unless one is
// there already): dbt catalog-like rows, varied so that zstd has work to do.
func generate(path string, size int64) error {
	if fi, err := os.Stat(path); err == nil && fi.Size() == size {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var n int64
	write := func(s string) {
		if rest := size - n; int64(len(s)) > rest {
			s = s[:rest]
		}
		w.WriteString(s)
		n += int64(len(s))
	}
	write(`{"nodes": {`)
	for i := 0; n < size-2; i++ {
		write(fmt.Sprintf(`"model.bench.m%d": {"columns": {"id": {"type": "bigint", "index": %d, "comment": "row %x"}}, "stats": {"rows": %d}}, `, i, i%97, i*2654435761, i*31%100003))
	}
	for n < size-2 {
		write(" ")
	}
	write("}}")
	return errors.Join(w.Flush(), f.Close())
}

// startS3 starts the S3 server process and returns it with its endpoint.
func startS3(bin string) (*benchproc.Server, string, error) {
	srv, f, err := benchproc.StartServer("s3fake", exec.Command(bin, "-bucket", "bench"))
	if err != nil {
		return nil, "", err
	}
	if len(f) != 1 {
		srv.Stop()
		return nil, "", fmt.Errorf("s3fake said ready %q", f)
	}
	return srv, f[0], nil
}
