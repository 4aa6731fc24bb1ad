// Command s3fake serves an in-memory S3 endpoint (gofakes3) on loopback as
// a process of its own, so that a benchmark measures boltfetch apart from
// the server, which holds every uploaded part in memory.
//
//	go run ./internal/s3fake/cmd/s3fake -bucket bench
//
// It prints one line "ready <endpoint URL>" on stdout and serves until it is
// sent SIGINT or SIGTERM, or its stdin is closed.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/boltfetch/boltfetch/internal/benchproc"
	"github.com/boltfetch/boltfetch/internal/s3fake"
)

func main() {
	buckets := flag.String("bucket", "bench", "comma-separated buckets to create")
	flag.Parse()
	srv, err := s3fake.Start(strings.Split(*buckets, ",")...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3fake:", err)
		os.Exit(1)
	}
	defer srv.Close()
	benchproc.Ready(srv.URL)
	benchproc.WaitStop()
}
