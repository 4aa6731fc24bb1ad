// Command dbtgen writes a large, consistent dbt manifest.json and
// run_results.json pair for benchmarks:
//
//	go run ./internal/dbtgen/cmd/dbtgen -nodes 120000 -out /tmp/big
//
// writes /tmp/big/manifest.json (about 261 MB) and /tmp/big/run_results.json,
// and prints the counts by status.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/boltfetch/boltfetch/internal/dbtgen"
)

func main() {
	var spec dbtgen.Spec
	out := flag.String("out", ".", "folder to write manifest.json and run_results.json into")
	flag.IntVar(&spec.Nodes, "nodes", 120000, "number of nodes and results")
	flag.Int64Var(&spec.Seed, "seed", 1, "random seed")
	flag.IntVar(&spec.FailModels, "fail-models", 5, "models that error")
	flag.IntVar(&spec.FailTests, "fail-tests", 5, "tests that fail")
	flag.IntVar(&spec.WarnTests, "warn-tests", 5, "tests that warn")
	flag.IntVar(&spec.Pad, "pad", 0, "bytes of SQL padding per model (0: default)")
	flag.Float64Var(&spec.FailFraction, "fail-fraction", 0, "fraction of nodes that fail (sets -fail-models and -fail-tests when they are 0)")
	flag.Parse()
	if err := run(*out, spec); err != nil {
		fmt.Fprintln(os.Stderr, "dbtgen:", err)
		os.Exit(1)
	}
}

func run(out string, spec dbtgen.Spec) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	mf, err := os.Create(filepath.Join(out, "manifest.json"))
	if err != nil {
		return err
	}
	defer mf.Close()
	rf, err := os.Create(filepath.Join(out, "run_results.json"))
	if err != nil {
		return err
	}
	defer rf.Close()
	truth, err := dbtgen.Write(mf, rf, spec)
	if err != nil {
		return err
	}
	if err := mf.Close(); err != nil {
		return err
	}
	if err := rf.Close(); err != nil {
		return err
	}
	fmt.Printf("manifest.json %d bytes, run_results.json %d bytes, invocation %s\n", truth.ManifestBytes, truth.RunResultsBytes, truth.InvocationID)
	fmt.Printf("counts: %v\n", truth.Counts)
	return nil
}
