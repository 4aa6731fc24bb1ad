package lineage_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/boltfetch/boltfetch/lineage"
)

// Export a Bolt run to an NDJSON file. Commands with archived artifacts set
// Manifest and RunResults (artifacts.Opener) to send their dbt nodes too.
func ExampleExporter_Export() {
	dir, _ := os.MkdirTemp("", "lineage-example-")
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "events.ndjson")

	sink, err := lineage.NewFileSink(file)
	if err != nil {
		panic(err)
	}
	ex, err := lineage.New(lineage.Config{DatasetNamespace: "postgres://db.example.com:5432"}, sink)
	if err != nil {
		panic(err)
	}
	t0 := time.Date(2024, 5, 1, 6, 0, 0, 0, time.UTC)
	run := lineage.Run{ID: "63187", Workspace: "acme", ScheduleName: "daily_run", Status: "failed", Start: t0, End: t0.Add(time.Minute)}
	cmds := []lineage.Command{
		{ID: "1", Command: "dbt deps", Status: "succeeded", Start: t0, End: t0.Add(5 * time.Second)},
		{ID: "2", Command: "dbt build", Status: "failed", Start: t0.Add(5 * time.Second), End: t0.Add(time.Minute),
			StderrTail: "Encountered an error: 1 node failed"},
	}
	if err := ex.Export(context.Background(), run, cmds); err != nil {
		panic(err)
	}

	f, _ := os.Open(file)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var ev lineage.Event
		_ = json.Unmarshal(sc.Bytes(), &ev)
		msg := ""
		if ev.Run.Facets != nil && ev.Run.Facets.ErrorMessage != nil {
			msg = ": " + ev.Run.Facets.ErrorMessage.Message
		}
		fmt.Printf("%-8s %s %s%s\n", ev.EventType, ev.Job.Namespace, ev.Job.Name, msg)
	}
	fmt.Println(lineage.RunID("paradime://acme", "63187", "", ""))
	// Output:
	// START    paradime://acme daily_run
	// START    paradime://acme daily_run.1
	// COMPLETE paradime://acme daily_run.1
	// START    paradime://acme daily_run.2
	// FAIL     paradime://acme daily_run.2: Encountered an error: 1 node failed
	// FAIL     paradime://acme daily_run: Bolt run 63187 ended with status "failed"
	// ea721448-7e23-52b4-8968-fef8839eeb78
}
