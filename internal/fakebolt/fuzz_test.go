package fakebolt

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzGraphQLEndpoint feeds arbitrary request bodies to the API handler. The
// handler must answer every one with a JSON body, and a mutation resolver
// must never run unless the document was recognised as a mutation: the
// MutationsSeen count is what guard tests rely on.
func FuzzGraphQLEndpoint(f *testing.F) {
	for _, q := range []string{
		CommandQuery(193439),
		ResourceQuery(1205731),
		`{ boltCommandLogs(commandId: 193442, cursor: "0:0") { lines { stream line } cursor finished } }`,
		`{ listBoltRuns(offset: 0, limit: 5) { ok runs { id } } }`,
		`mutation { cancelBoltRun(runId: 1) { ok } }`,
		`query A { boltCommand(commandId: 1) { command } } mutation B { retryBoltRun(runId: 1) { ok } }`,
		`query { ...F } fragment F on Query { boltRunStatus(runId: 63187) { state } }`,
	} {
		b, _ := json.Marshal(map[string]string{"query": q})
		f.Add(b)
	}
	f.Add([]byte(`{"query":"mutation { deleteBoltSchedule(scheduleName: \"x\") { ok } }","operationName":"x"}`))
	f.Add([]byte(`not json`))
	s := New(Options{APIKey: testKey, APISecret: testSecret, EndpointToken: "tok"})
	s.AddRun(SeedRun())
	h := s.Handler()
	f.Fuzz(func(t *testing.T, body []byte) {
		s.ResetStats()
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/api/v1/tok/graphql", bytes.NewReader(body))
		req.Header.Set("X-API-KEY", testKey)
		req.Header.Set("X-API-SECRET", testSecret)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("status %d, body not JSON: %q", rec.Code, rec.Body.String())
		}
		st := s.Stats()
		if st.MutationsExecuted > 0 && st.MutationsSeen == 0 {
			t.Fatalf("a mutation ran but the document was not seen as one: %q", body)
		}
	})
}

func FuzzParseCursor(f *testing.F) {
	for _, c := range []string{"0:0", "10:2", "x", "1:", ":1", "-1:0", "99999999999999999999:0"} {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, c string) {
		o, e, err := parseCursor(c, 10, 3)
		if err == nil && (o < 0 || o > 10 || e < 0 || e > 3) {
			t.Fatalf("parseCursor(%q) = %d, %d: out of range", c, o, e)
		}
	})
}
