// Package demodata holds the real dbt artifacts that `boltfetch demo` and the
// fetcher tests serve from the fake Bolt API (see PROVENANCE.md), and the
// Bolt run that carries them, shaped like Paradime's published completed
// payload.
package demodata

import (
	"embed"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/boltfetch/boltfetch/internal/fakebolt"
)

//go:embed data/*.json
var files embed.FS

// File returns one embedded artifact by its name under data/, such as
// "build-failed.manifest.json".
func File(name string) []byte {
	b, err := files.ReadFile("data/" + name)
	if err != nil {
		// The names are fixed at compile time; a typo is a programming error
		// caught by the package's test.
		panic(fmt.Sprintf("demodata: %v", err))
	}
	return b
}

// IDs of the demo run, its commands and resources.
const (
	RunID            = 63187
	CmdClone         = 193439
	CmdDeps          = 193440
	CmdRun           = 193441 // succeeded `dbt run`
	CmdBuild         = 193442 // failed `dbt build`
	ResRunManifest   = 1205731
	ResRunResults    = 1205739
	ResBuildManifest = 1205743
	ResBuildResults  = 1205761
)

// Run returns the demo Bolt run: git clone, dbt deps, a succeeded dbt run and
// a failed dbt build (1 error causing 13 skips), with real artifacts, in the
// shape of the seed payload (run 63187, schedule daily_run, workspace
// demo-jaffle).
func Run() fakebolt.Run {
	ts := func(h, m, s, micro int) time.Time {
		return time.Date(2023, time.October, 15, h, m, s, micro*1000, time.UTC)
	}
	runRR, buildRR := File("run-succeeded.run_results.json"), File("build-failed.run_results.json")
	return fakebolt.Run{
		ID:           RunID,
		UUID:         "a7e76080-b371-369f-a93f-4a4969617ab6",
		Status:       "failed",
		ScheduleName: "daily_run",
		Workspace:    fakebolt.Workspace{Name: "demo-jaffle", UID: "n0sg8br1m44k0ryj"},
		Start:        ts(16, 44, 1, 476190),
		End:          ts(16, 44, 39, 891890),
		Commands: []fakebolt.Command{
			{
				ID: CmdClone, Command: "git clone ...", Status: "succeeded",
				Start: ts(16, 44, 14, 576471), End: ts(16, 44, 16, 986049),
				Stdout: "Cloning into '.'...\n",
			},
			{
				ID: CmdDeps, Command: "dbt deps", Status: "succeeded",
				Start: ts(16, 44, 17, 109897), End: ts(16, 44, 19, 831942),
				Stdout: "Running with dbt\nNo packages to install\n",
			},
			{
				ID: CmdRun, Command: "dbt run", Status: "succeeded",
				Start: ts(16, 44, 19, 886774), End: ts(16, 44, 29, 552605),
				Stdout: Stdout(runRR),
				Resources: []fakebolt.Resource{
					{ID: ResRunManifest, Path: "target/manifest.json", Data: File("run-succeeded.manifest.json")},
					{ID: ResRunResults, Path: "target/run_results.json", Data: runRR},
				},
			},
			{
				ID: CmdBuild, Command: "dbt build", Status: "failed", ReturnCode: 1,
				Start: ts(16, 44, 29, 586366), End: ts(16, 44, 37, 422950),
				Stdout: Stdout(buildRR),
				Stderr: "Encountered an error: 1 node failed, 13 skipped\n",
				Resources: []fakebolt.Resource{
					{ID: ResBuildManifest, Path: "target/manifest.json", Data: File("build-failed.manifest.json")},
					{ID: ResBuildResults, Path: "target/run_results.json", Data: buildRR},
				},
			},
		},
	}
}

// Stdout renders a dbt-style console log from a run_results file: one line
// per result, then the totals. It is how the demo's logs are made, so they
// say what the artifacts say.
func Stdout(runResults []byte) string {
	var rr struct {
		Metadata struct {
			DBTVersion string `json:"dbt_version"`
		} `json:"metadata"`
		Results []struct {
			UniqueID      string  `json:"unique_id"`
			Status        string  `json:"status"`
			ExecutionTime float64 `json:"execution_time"`
			Message       any     `json:"message"`
		} `json:"results"`
	}
	if err := json.Unmarshal(runResults, &rr); err != nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Running with dbt=%s\n", rr.Metadata.DBTVersion)
	counts := map[string]int{}
	for i, r := range rr.Results {
		counts[strings.ToUpper(r.Status)]++
		fmt.Fprintf(&b, "%d of %d %s %s [%.2fs]\n", i+1, len(rr.Results), strings.ToUpper(r.Status), r.UniqueID, r.ExecutionTime)
		if msg, ok := r.Message.(string); ok && (r.Status == "error" || r.Status == "fail") {
			fmt.Fprintf(&b, "  %s\n", strings.ReplaceAll(strings.TrimSpace(msg), "\n", "\n  "))
		}
	}
	fmt.Fprintf(&b, "Done. PASS=%d WARN=%d ERROR=%d SKIP=%d TOTAL=%d\n",
		counts["PASS"]+counts["SUCCESS"], counts["WARN"], counts["ERROR"]+counts["FAIL"], counts["SKIPPED"], len(rr.Results))
	return b.String()
}
