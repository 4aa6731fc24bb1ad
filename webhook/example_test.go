package webhook_test

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"

	"github.com/boltfetch/boltfetch/fetcher"
	"github.com/boltfetch/boltfetch/webhook"
)

// Example wires the intake as cmd does: fetcher's decoder as the parser (a
// Bolt payload must carry an integer run id), a token, and a queue (here an
// in-memory one; in boltfetch serve, *inbox.Inbox).
func Example() {
	parse := func(body []byte) (int64, bool, error) {
		p, err := fetcher.ParsePayload(body)
		if err != nil {
			return 0, false, err
		}
		id, err := strconv.ParseInt(p.RunID, 10, 64)
		if err != nil || id <= 0 {
			return 0, false, errors.New("not a Bolt payload: no integer run id")
		}
		return id, p.Started, nil
	}
	h, err := webhook.New(webhook.Config{
		Queue:  newMemQueue(),
		Parse:  parse,
		Tokens: []string{"an-example-token-of-32-characters"},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := httptest.NewServer(h) // boltfetch serve: h.Serve(ctx, listener)
	defer srv.Close()

	body := `{"id": 63187, "api_url": "https://api.paradime.io/api/v1/x/graphql", "commands": [{"id": 1}]}`
	for range 2 {
		resp, err := http.Post(srv.URL+"/webhooks/paradime?token=an-example-token-of-32-characters", "application/json", strings.NewReader(body))
		if err != nil {
			fmt.Println(err)
			return
		}
		var ans map[string]any
		_ = decodeResponse(resp, &ans)
		fmt.Println(resp.StatusCode, ans["run_id"], ans["state"], ans["duplicate"])
	}
	// Output:
	// 202 63187 queued false
	// 200 63187 queued true
}
