// Command benchlineage measures `boltfetch lineage` on a large generated
// pair: events per second, MB written and the peak RSS of the child
// process.
//
//	go run ./internal/benchlineage -dir /tmp/boltfetch-bench -nodes 120000 -runs 3
//
// generates dir/manifest.json (about 267 MB for 120,000 nodes) and
// dir/run_results.json (about 39 MB) when they are absent (the same pair as
// internal/benchanalyze), lays out an archived run around them (hard links,
// with a report.json), builds boltfetch into dir and runs
// `boltfetch lineage RUN --openlineage-file F` as a child process. Linux
// only (peak RSS: the child's VmHWM, see internal/benchproc).
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/boltfetch/boltfetch/internal/benchproc"
	"github.com/boltfetch/boltfetch/internal/dbtgen"
)

func main() {
	dir := flag.String("dir", filepath.Join(os.TempDir(), "boltfetch-bench"), "folder for the generated pair, the archive and the binary")
	nodes := flag.Int("nodes", 120000, "nodes in the generated project")
	runs := flag.Int("runs", 3, "runs")
	flag.Parse()
	if err := run(*dir, *nodes, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "benchlineage:", err)
		os.Exit(1)
	}
}

func run(dir string, nodes, runs int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	manifest := filepath.Join(dir, "manifest.json")
	runResults := filepath.Join(dir, "run_results.json")
	if _, _, err := benchproc.EnsurePair(manifest, runResults, dbtgen.Spec{Nodes: nodes, Seed: 1, FailModels: 5, FailTests: 5, WarnTests: 5}); err != nil {
		return err
	}
	mMB, rMB, err := benchproc.PairMB(manifest, runResults)
	if err != nil {
		return err
	}
	archiveDir := filepath.Join(dir, "lineage-archive")
	runDir, err := layOut(archiveDir, manifest, runResults)
	if err != nil {
		return err
	}
	bin := filepath.Join(dir, "boltfetch")
	if err := benchproc.Build(bin, "github.com/boltfetch/boltfetch/cmd/boltfetch"); err != nil {
		return err
	}
	fmt.Printf("manifest %.1f MB, run_results %.1f MB, %d nodes, %d runs\n", mMB, rMB, nodes, runs)
	fmt.Println()
	fmt.Println("| run | wall | CPU (user+sys) | events | events/s | NDJSON written | input MB/s | peak RSS |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- | --- |")
	var ms []benchproc.Measure
	for i := range runs {
		out := filepath.Join(dir, "events.ndjson")
		os.Remove(out)
		m, err := benchproc.Run(exec.Command(bin, "lineage", runDir, "--openlineage-file", out))
		if err != nil {
			return fmt.Errorf("boltfetch lineage (run %d): %w", i+1, err)
		}
		ms = append(ms, m)
		wall := m.Wall
		events, bytes, err := countLines(out)
		if err != nil {
			return err
		}
		in := mMB + rMB
		fmt.Printf("| %d | %.2f s | %.2f s | %d | %.0f | %.1f MB | %.0f | %d MB |\n", i+1, wall.Seconds(), m.CPU.Seconds(), events,
			float64(events)/wall.Seconds(), float64(bytes)/1e6, in/wall.Seconds(), m.PeakRSS/1024)
		os.Remove(out)
	}
	fmt.Printf("\nmedian wall %.2f s; target: peak RSS <= 150 MB\n", benchproc.Median(ms).Wall.Seconds())
	return nil
}

// layOut makes an archived run folder holding the pair (hard links when
// possible, else copies) and a report.json naming it.
func layOut(archiveDir, manifest, runResults string) (string, error) {
	const folder = "bench/nightly/1"
	cmdDir := filepath.Join(archiveDir, filepath.FromSlash(folder), "commands", "1", "target")
	if err := os.MkdirAll(cmdDir, 0o755); err != nil {
		return "", err
	}
	for src, name := range map[string]string{manifest: "manifest.json", runResults: "run_results.json"} {
		dst := filepath.Join(cmdDir, name)
		os.Remove(dst)
		if err := os.Link(src, dst); err != nil {
			if err := copyFile(src, dst); err != nil {
				return "", err
			}
		}
	}
	rep := map[string]any{
		"run": map[string]any{"id": 1, "status": "failed", "schedule_name": "nightly", "workspace": map[string]any{"name": "bench"},
			"start": "2026-01-15T10:00:00Z", "end": "2026-01-15T10:30:00Z"},
		"archive": map[string]any{"folder": folder},
		"commands": []any{map[string]any{
			"id": 1, "command": "dbt build", "status": "failed", "start": "2026-01-15T10:00:00Z", "end": "2026-01-15T10:30:00Z",
			"artifacts": []any{
				map[string]any{"path": "target/manifest.json", "location": folder + "/commands/1/target/manifest.json"},
				map[string]any{"path": "target/run_results.json", "location": folder + "/commands/1/target/run_results.json"},
			},
		}},
	}
	raw, err := json.Marshal(rep)
	if err != nil {
		return "", err
	}
	runDir := filepath.Join(archiveDir, filepath.FromSlash(folder))
	return runDir, os.WriteFile(filepath.Join(runDir, "report.json"), raw, 0o644)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Close())
}

func countLines(path string) (int, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	var n int
	var size int64
	for {
		line, err := r.ReadSlice('\n')
		size += int64(len(line))
		if len(line) > 0 && line[len(line)-1] == '\n' {
			n++
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			return n, size, nil
		}
		if err != nil {
			return 0, 0, err
		}
	}
}
