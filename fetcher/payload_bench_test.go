package fetcher

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/boltfetch/boltfetch/internal/sharedtest"
)

// syntheticPayload builds a completed payload in Paradime's shape with
// commands commands of resources resources each.
func syntheticPayload(commands, resources int) []byte {
	var b strings.Builder
	b.WriteString(`{"api_url":"https://api.demo.paradime.io/api/v1/uany7edagtovarzx/graphql","id":63187,"uuid":"2c9f7b0e-0a34-4f51-9d2f-9c5e2b7d1a11",` +
		`"status":"failed","schedule_name":"daily_run","run_url":"https://app.paradime.io/bolt/run_id/63187",` +
		`"workspace":{"name":"demo-jaffle","uid":"uany7edagtovarzx"},"start_dttm":"2023-10-15 16:44:01.476190",` +
		`"end_dttm":"2023-10-15 16:44:37.422950","error_string":null,"commands":[`)
	for i := range commands {
		if i > 0 {
			b.WriteByte(',')
		}
		id := 193439 + i
		fmt.Fprintf(&b, `{"api_query":"query BoltCommand {\n boltCommand(commandId: %d) {\n command\n startDttm\n endDttm\n stdout\n stderr\n returnCode\n scheduleRunId\n resources {\n id\n path\n }\n }\n}",`+
			`"command":"dbt run --select tag:t%d","end_dttm":"2023-10-15 16:44:37.422950","id":%d,"json_resources":[`, id, i, id)
		for j := range resources {
			if j > 0 {
				b.WriteByte(',')
			}
			rid := 1205731 + 10*i + j
			fmt.Fprintf(&b, `{"id":%d,"path":"target/file%d.json","resource_query":"query BoltResourceUrl {\n boltResourceUrl(resourceId: %d) {\n ok\n url\n }\n}"}`, rid, j, rid)
		}
		b.WriteString(`],"return_code":1,"start_dttm":"2023-10-15 16:44:29.586366","status":"failed"}`)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

func benchmarkParse(b *testing.B, raw []byte, parse func([]byte) (*Payload, error)) {
	b.Helper()
	if _, err := parse(raw); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	cpu0, ok := processCPU()
	for b.Loop() {
		if _, err := parse(raw); err != nil {
			b.Fatal(err)
		}
	}
	// CPU per parse (the GC's included) varies less than ns/op when other
	// processes share the cores.
	if cpu1, ok1 := processCPU(); ok && ok1 {
		b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
	}
}

func payloadBenchInputs(b *testing.B) []struct {
	name string
	raw  []byte
} {
	completed, err := os.ReadFile(sharedtest.Fixture(b, "paradime/completed.json"))
	if err != nil {
		b.Fatal(err)
	}
	return []struct {
		name string
		raw  []byte
	}{{"completed", completed}, {"8x2", syntheticPayload(8, 2)}}
}

// BenchmarkParsePayload measures ParsePayload on Paradime's completed
// example (3.7 KB, 4 commands) and on a payload of 8 commands × 2 resources.
func BenchmarkParsePayload(b *testing.B) {
	for _, in := range payloadBenchInputs(b) {
		b.Run(in.name, func(b *testing.B) { benchmarkParse(b, in.raw, ParsePayload) })
	}
}

// BenchmarkParsePayloadPrevious measures the previous implementation
// (json.Unmarshal into maps at each level, kept in payload_ref_test.go) on
// the same inputs: the baseline, in the same run.
func BenchmarkParsePayloadPrevious(b *testing.B) {
	for _, in := range payloadBenchInputs(b) {
		b.Run(in.name, func(b *testing.B) { benchmarkParse(b, in.raw, parsePayloadRef) })
	}
}
