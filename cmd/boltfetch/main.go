// Command boltfetch turns a Paradime Bolt webhook payload into an archive of
// the run's logs and dbt artifacts, and a report of what failed and why.
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], defaultStreams()))
}
