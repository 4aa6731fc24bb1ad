package fakebolt_test

import (
	"encoding/json"
	"fmt"

	"github.com/boltfetch/boltfetch/internal/fakebolt"
)

// A test starts a fake with the run of Paradime's published example, points
// the code under test at its payload, and asserts on what it saw.
func Example() {
	s := fakebolt.New(fakebolt.Options{APIKey: "key", APISecret: "secret"})
	defer s.Close()
	run := fakebolt.SeedRun()
	run.Commands[3].Resources[1].Data = []byte(`{"results": []}`) // dbt run's run_results.json
	s.AddRun(run)
	s.SetFault("graphql:boltResourceUrl", fakebolt.Fault{FirstN: 1, Status: 429, RetryAfter: "1"})
	if err := s.Start(); err != nil {
		fmt.Println(err)
		return
	}
	payload, err := s.CompletedPayload(run.ID)
	if err != nil {
		fmt.Println(err)
		return
	}
	var p struct {
		Commands []struct {
			Command string `json:"command"`
		} `json:"commands"`
	}
	_ = json.Unmarshal(payload, &p)
	fmt.Println(len(p.Commands), p.Commands[3].Command)
	// ... run the code under test against payload, then:
	st := s.Stats()
	fmt.Println(st.MutationsExecuted, st.HeaderSeen("download", "X-API-KEY"))
	// Output:
	// 4 dbt run
	// 0 false
}
