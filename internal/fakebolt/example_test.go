package fakebolt_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/boltfetch/boltfetch/client"
	"github.com/boltfetch/boltfetch/internal/fakebolt"
)

// A test starts a fake with the run of Paradime's published example, points
// the code under test at its payload, and checks what the fake saw. Here the
// code under test is the real client following up one artifact of the
// payload's "dbt run" command, through an injected 429, and the download of
// its presigned URL.
func Example() {
	s := fakebolt.New(fakebolt.Options{APIKey: "key", APISecret: "secret"})
	defer s.Close()
	run := fakebolt.SeedRun()
	want := []byte(`{"results": []}`)
	run.Commands[3].Resources[1].Data = want // dbt run's run_results.json
	s.AddRun(run)
	s.SetFault(fakebolt.RouteField("boltResourceUrl"), fakebolt.Fault{FirstN: 1, Status: 429, RetryAfter: "1"})
	if err := s.Start(); err != nil {
		fmt.Println(err)
		return
	}
	raw, err := s.CompletedPayload(run.ID)
	if err != nil {
		fmt.Println(err)
		return
	}
	var p struct {
		APIURL   string `json:"api_url"`
		Commands []struct {
			Command   string `json:"command"`
			Resources []struct {
				ID    int64  `json:"id"`
				Path  string `json:"path"`
				Query string `json:"resource_query"`
			} `json:"json_resources"`
		} `json:"commands"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		fmt.Println(err)
		return
	}
	cmd := p.Commands[3]
	res := cmd.Resources[1]
	fmt.Printf("payload: %d commands; %q lists %s\n", len(p.Commands), cmd.Command, res.Path)

	// The code under test: the client, allowed to reach the fake's
	// loopback host, with a short Retry-After cap so the example is quick.
	u, _ := url.Parse(p.APIURL)
	c, err := client.New(client.Config{APIKey: "key", APISecret: "secret", AllowHosts: []string{u.Hostname()}, MaxRetryAfter: time.Millisecond})
	if err != nil {
		fmt.Println(err)
		return
	}
	bound, err := c.WithEndpoint(p.APIURL)
	if err != nil {
		fmt.Println(err)
		return
	}
	presigned, err := bound.PayloadResourceURL(context.Background(), res.Query, res.ID)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := http.Get(presigned)
	if err != nil {
		fmt.Println(err)
		return
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Printf("download: HTTP %d, byte-exact: %t\n", resp.StatusCode, bytes.Equal(got, want))

	st := s.Stats()
	fmt.Printf("boltResourceUrl: %d requests, %d fault injected\n", st.Requests[fakebolt.RouteField("boltResourceUrl")], st.FaultsInjected[fakebolt.RouteField("boltResourceUrl")])
	fmt.Printf("credentials sent to the artifact host: %t\n", st.HeaderSeen(fakebolt.RouteDownload, "X-API-SECRET"))
	fmt.Printf("mutations executed: %d\n", st.MutationsExecuted)
	// Output:
	// payload: 4 commands; "dbt run" lists target/run_results.json
	// download: HTTP 200, byte-exact: true
	// boltResourceUrl: 2 requests, 1 fault injected
	// credentials sent to the artifact host: false
	// mutations executed: 0
}
