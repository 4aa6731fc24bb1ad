package fakebolt

import (
	"fmt"
	"strings"
	"time"
)

// SeedRun returns the run described by Paradime's published completed
// payload (run 63187 of schedule daily_run, workspace demo-jaffle), so
// CompletedPayload(63187) reproduces that example except for api_url. Its
// four resources carry no data: set Data or File before AddRun. Stdout and
// stderr hold plausible dbt logs (the dbt run command fails).
func SeedRun() Run {
	// ts is a time on the seed's day, 2023-10-15 UTC.
	ts := func(h, m, sec, micro int) time.Time {
		return time.Date(2023, time.October, 15, h, m, sec, micro*1000, time.UTC)
	}
	return Run{
		ID:           63187,
		UUID:         "a7e76080-b371-369f-a93f-4a4969617ab6",
		Status:       "failed",
		ScheduleName: "daily_run",
		Workspace:    Workspace{Name: "demo-jaffle", UID: "n0sg8br1m44k0ryj"},
		Start:        ts(16, 44, 1, 476190),
		End:          ts(16, 44, 39, 891890),
		RunURL:       "https://app.demo.paradime.io/bolt/run_id/63187",
		Actor:        "Manual",
		ActorEmail:   "fabio@paradime.io",
		Branch:       "main",
		CommitHash:   "54a134583ef6dccbe154e30e1cd09a9d94b6bda0",
		Environment:  "production",
		Cron:         "@daily",
		OwnerEmail:   "fabio@paradime.io",
		EmailNotify:  []string{"max@acme.io", "fabio@acme.io"},
		SlackNotify:  []string{"data-alerts"},
		Commands: []Command{
			{
				ID: 193439, Command: "git clone ...", Status: "succeeded",
				Start: ts(16, 44, 14, 576471), End: ts(16, 44, 16, 986049),
				Stdout: "Cloning into '.'...\nChecked out main at 54a1345\n",
			},
			{
				ID: 193440, Command: "dbt deps", Status: "succeeded",
				Start: ts(16, 44, 17, 109897), End: ts(16, 44, 19, 831942),
				Stdout: "16:44:18  Running with dbt=1.6.6\n16:44:19  Installing dbt-labs/dbt_utils\n16:44:19  Installed from version 1.1.1\n",
			},
			{
				ID: 193441, Command: "dbt seed", Status: "succeeded",
				Start: ts(16, 44, 19, 886774), End: ts(16, 44, 29, 552605),
				Stdout: seedStdout(),
				Resources: []Resource{
					{ID: 1205731, Path: "target/manifest.json"},
					{ID: 1205739, Path: "target/run_results.json"},
				},
			},
			{
				ID: 193442, Command: "dbt run", Status: "failed", ReturnCode: 1,
				Start: ts(16, 44, 29, 586366), End: ts(16, 44, 37, 422950),
				Stdout: runStdout(),
				Stderr: "Encountered an error: 1 model failed\n",
				Resources: []Resource{
					{ID: 1205743, Path: "target/manifest.json"},
					{ID: 1205761, Path: "target/run_results.json"},
				},
			},
		},
	}
}

func seedStdout() string {
	var b strings.Builder
	b.WriteString("16:44:21  Running with dbt=1.6.6\n16:44:22  Found 5 models, 3 seeds, 20 tests\n")
	for i, s := range []string{"raw_customers", "raw_orders", "raw_payments"} {
		fmt.Fprintf(&b, "16:44:2%d  %d of 3 OK loaded seed file main.%s ........ [INSERT 100 in 0.5s]\n", 3+i, i+1, s)
	}
	b.WriteString("16:44:29  Completed successfully\n16:44:29  Done. PASS=3 WARN=0 ERROR=0 SKIP=0 TOTAL=3\n")
	return b.String()
}

func runStdout() string {
	var b strings.Builder
	b.WriteString("16:44:31  Running with dbt=1.6.6\n16:44:31  Found 5 models, 3 seeds, 20 tests\n")
	models := []string{"stg_customers", "stg_orders", "stg_payments", "customers", "orders"}
	for i, m := range models {
		if m == "orders" {
			fmt.Fprintf(&b, "16:44:36  %d of 5 ERROR creating sql table model main.%s ........ [ERROR in 0.2s]\n", i+1, m)
			continue
		}
		fmt.Fprintf(&b, "16:44:3%d  %d of 5 OK created sql view model main.%s ........ [OK in 0.3s]\n", 2+i, i+1, m)
	}
	b.WriteString("16:44:37  Completed with 1 error and 0 warnings:\n16:44:37  Database Error in model orders (models/orders.sql)\n16:44:37    column \"amount\" does not exist\n16:44:37  Done. PASS=4 WARN=0 ERROR=1 SKIP=0 TOTAL=5\n")
	return b.String()
}
