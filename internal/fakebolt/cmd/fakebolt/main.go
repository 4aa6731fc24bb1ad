// Command fakebolt serves the fake Bolt API as a process of its own, with
// one run of generated dbt artifacts, so that benchmarks measure boltfetch
// apart from the server that feeds it.
//
//	go run ./internal/fakebolt/cmd/fakebolt -dir /tmp/fb -commands 8 -nodes 13650 -latency 100ms -bandwidth 100000000
//
// It generates dir/manifest.json and dir/run_results.json (unless present),
// writes the run's completed payload to dir/payload.json, prints one line
// "ready <api_url> <payload path>" on stdout, and serves on loopback until
// it is sent SIGINT or SIGTERM, or its stdin is closed. The API accepts the
// key and secret given by -key and -secret.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/boltfetch/boltfetch/internal/benchproc"
	"github.com/boltfetch/boltfetch/internal/dbtgen"
	"github.com/boltfetch/boltfetch/internal/fakebolt"
)

func main() {
	dir := flag.String("dir", filepath.Join(os.TempDir(), "fakebolt"), "folder for the generated artifacts and the payload")
	commands := flag.Int("commands", 8, "dbt commands in the run, each with the same manifest and run_results")
	nodes := flag.Int("nodes", 13650, "nodes in the generated project (13,650 gives a 29 MB manifest and a 4.3 MB run_results)")
	stdoutBytes := flag.Int("stdout-bytes", 1<<20, "bytes of stdout per command")
	latency := flag.Duration("latency", 100*time.Millisecond, "added before every API answer and every download")
	bandwidth := flag.Int64("bandwidth", 100e6, "download bytes per second per connection (0: unlimited)")
	key := flag.String("key", "bench-key", "accepted API key")
	secret := flag.String("secret", "bench-secret", "accepted API secret")
	flag.Parse()
	if err := run(*dir, *commands, *nodes, *stdoutBytes, *latency, *bandwidth, *key, *secret); err != nil {
		fmt.Fprintln(os.Stderr, "fakebolt:", err)
		os.Exit(1)
	}
}

func run(dir string, commands, nodes, stdoutBytes int, latency time.Duration, bandwidth int64, key, secret string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	manifest, runResults := filepath.Join(dir, "manifest.json"), filepath.Join(dir, "run_results.json")
	if _, _, err := benchproc.EnsurePair(manifest, runResults, dbtgen.Spec{Nodes: nodes, Seed: 42}); err != nil {
		return err
	}
	line := "12:00:00  1 of 100 OK created sql table model analytics.orders ........ [OK in 0.52s]\n"
	stdout := strings.Repeat(line, max(1, stdoutBytes/len(line)))
	r := fakebolt.Run{ID: 7, Status: "failed", ScheduleName: "bench", Workspace: fakebolt.Workspace{Name: "ws", UID: "ws-uid"}}
	for i := range commands {
		id := int64(1000 + i)
		r.Commands = append(r.Commands, fakebolt.Command{
			ID: id, Command: "dbt build", Status: "failed", ReturnCode: 1, Stdout: stdout,
			Resources: []fakebolt.Resource{
				{ID: id*10 + 1, Path: "target/manifest.json", File: manifest},
				{ID: id*10 + 2, Path: "target/run_results.json", File: runResults},
			},
		})
	}
	srv := fakebolt.New(fakebolt.Options{APIKey: key, APISecret: secret, Latency: latency, BytesPerSec: bandwidth, URLTTL: time.Hour})
	if err := srv.Start(); err != nil {
		return err
	}
	defer srv.Close()
	srv.AddRun(r)
	payload, err := srv.CompletedPayload(r.ID)
	if err != nil {
		return err
	}
	payloadPath := filepath.Join(dir, "payload.json")
	if err := os.WriteFile(payloadPath, payload, 0o644); err != nil {
		return err
	}
	benchproc.Ready(srv.APIURL(), payloadPath)
	benchproc.WaitStop()
	return nil
}
