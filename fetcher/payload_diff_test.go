package fetcher

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/boltfetch/boltfetch/internal/sharedtest"
)

// sameAsRef fails t unless ParsePayload and the previous implementation
// agree on raw: the same Payload, or errors with the same path, reason and
// text.
func sameAsRef(t testing.TB, raw []byte) {
	t.Helper()
	got, gotErr := ParsePayload(raw)
	want, wantErr := parsePayloadRef(raw)
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("input %q:\nnew: %+v, %v\nref: %+v, %v", raw, got, gotErr, want, wantErr)
	}
	if gotErr != nil {
		var g, w *PayloadError
		if !errors.As(gotErr, &g) || !errors.As(wantErr, &w) {
			t.Fatalf("input %q: errors %v / %v are not both *PayloadError", raw, gotErr, wantErr)
		}
		if g.Path != w.Path || g.Reason != w.Reason || gotErr.Error() != wantErr.Error() {
			t.Fatalf("input %q:\nnew error %q (path %q)\nref error %q (path %q)", raw, gotErr, g.Path, wantErr, w.Path)
		}
		return
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("input %q: payload differs (-ref +new):\n%s", raw, diff)
	}
}

// diffCorpus is the fuzz seeds, the payload tests' inputs and cases aimed
// at where a hand-written single pass could drift from json.Unmarshal into
// maps: escapes strconv.Unquote refuses, escaped names, key order, numbers.
func diffCorpus(tb testing.TB) [][]byte {
	tb.Helper()
	var out [][]byte
	for _, name := range []string{"paradime/completed.json", "paradime/started.json"} {
		b, err := os.ReadFile(sharedtest.Fixture(tb, name))
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	files, _ := filepath.Glob("testdata/fuzz/FuzzParsePayload*/*")
	for _, f := range files {
		if b, err := readFuzzFile(f); err == nil {
			out = append(out, b)
		}
	}
	const good = `{"id":1,"api_query":"q","json_resources":[{"id":2,"path":"target/manifest.json","resource_query":"r"}]}`
	for _, s := range []string{
		`{"api_url":"u","commands":[{"id":"1","json_resources":[{"id":2,"path":"../x"}]}]}`,
		`{"commands":[null,1,"x",{"id":1e400}]}`,
		`{"event":"bolt.run.completed","api_url":"u","commands":[{"id":1},{"id":2,"json_resources":{}}]}`,
		`{"api_url":"u","commands":[{"id":1,"id":1}]}`,
		`{"api_url":"https://a.paradime.io/x","id":"7","commands":[{"id":"12","return_code":"0","json_resources":[{"id":"99","path":"p"}]}]}`,
		`{"api_url":"u","commands":[{"id":12.0}]}`,
		`{"api_url":"u","extra":{"a":[1]},"workspace":"oops","schedule":{"name":"from-schedule"},"commands":[{"id":1,"json_resources":null,"status":null,"more":{}}]}`,
		`{"api_url":"u","commands":[{"id":"abc"},{"id":1e300}]}`,
		`{"id":1}`, `{"event":"bolt.run.completed"}`, `{"event":"bolt.run.started","commands":[]}`, `{"commands":[]}`,
		`{"commands":[{"id":1}]}`, `[1,2]`, `null`, ` null `, `null x`, `{"commands":[]} {}`, `{} x`, `hello`, ``, `  `, `{`, `{"a":`, `"x"`, `1`,
		`[{"a":1,"a":2}]`, `{"a":1,"a":2} x`, `{"a":{"b":1,"b":2},"c":}`,
		`{"api_url":"u","commands":null}`, `{"api_url":"u","commands":{"id":1}}`, `{"api_url":"u","commands":"dbt run"}`,
		`{"api_url":"u","commands":["dbt run"]}`, `{"api_url":"u","commands":[null]}`,
		`{"api_url":"u","commands":[{"id":1,"json_resources":{"id":2}}]}`,
		`{"api_url":"u","commands":[{"id":1,"json_resources":["target/manifest.json"]}]}`,
		`{"api_url":"u","commands":[{"id":1,"json_resources":[{"id":2,"path":7}]}]}`,
		`{"api_url":"u","commands":[{"id":1,"json_resources":[{"id":{},"path":"p"}]}]}`,
		`{"api_url":"u","commands":[{"id":1,"api_query":5}]}`, `{"api_url":"u","commands":[{"id":[1]}]}`,
		`{"api_url":"u","commands":[{"id":1,"return_code":"zero"}]}`,
		`{"event":"bolt.run.deleted","api_url":"u","commands":[]}`, `{"event":1,"api_url":"u","commands":[]}`,
		`{"api_url":["u"],"commands":[` + good + `]}`, `{"api_url":"u","api_url":"v","commands":[]}`,
		`{"api_url":"u","commands":[{"id":1,"id":2}]}`, `{"api_url":"u","extra":{"a":1,"a":2},"commands":[]}`,
		`{"api_url":"u","commands":[` + good + `,"dbt run"]}`, `{"api_url":"u","commands":[` + good + `,null]}`,
		`{"api_url":"u","commands":[` + good + `,{"id":3,"json_resources":{}}]}`,
		`{"api_url":"u","commands":[` + good + `,{"id":3,"json_resources":[{"id":4,"path":7}]}]}`,
		`{"event":"bolt.run.started"}`, `{"event":"bolt.run.started","commands":[null,{"id":[]}]}`,
		`{"event":"bolt.run.started","commands":{}}`, `{"commands":{},"event":"nope"}`, `{"commands":5,"api_url":5}`,
		// Every JSON escape, \/ and surrogate pairs included.
		`{"api_url":"https:\/\/a.paradime.io\/x","commands":[` + good + `]}`,
		`{"api_url":"u","schedule_name":"\ud83d\ude00","commands":[{"id":"\u0031","command":"a\/b","status":"\u00e9\n\t\"\\\b\f\r"}]}`,
		`{"event":"bolt.run.\u0073tarted"}`, `{"event":"bolt.run.started\/"}`,
		`{"\u0061pi_url":"u","c\u006fmmands":[{"\u0069d":1,"json_re\u0073ources":[{"p\u0061th":"x","\u0069d":"\u0032"}]}]}`,
		`{"api_url":"u","commands":[{"id":1}],"api\u005furl":"v"}`,
		// Key order and the first problem reported.
		`{"api_url":"u","commands":[{"json_resources":[{"path":1}],"return_code":true,"api_query":1,"id":{}}]}`,
		`{"api_url":"u","commands":[{"json_resources":{},"status":1}]}`,
		`{"commands":[{"id":1}],"event":"bolt.run.completed"}`, `{"commands":[{"id":1}],"api_url":null}`,
		`{"schedule":{"name":"s","name2":{"x":[1,{"y":2}]}},"schedule_name":"","workspace":{"uid":7,"name":null},"commands":[]}`,
		`{"schedule":{"name":"s"},"schedule_name":null}`, `{"schedule":["name"],"workspace":[{"name":"x"}]}`,
		`{"schedule_name":12,"id":-0,"uuid":1.5e3,"status":true,"run_url":{},"start_dttm":[],"end_dttm":null,"error_string":"e"}`,
		// Numbers as ids and return codes.
		`{"api_url":"u","commands":[{"id":-12,"return_code":2147483648},{"id":9007199254740993,"return_code":-2147483648}]}`,
		`{"api_url":"u","commands":[{"id":1.5,"return_code":1e0},{"id":"1e3","return_code":"-0"},{"id":123456789012345678901234567890,"return_code":"x"}]}`,
		`{"api_url":"u","commands":[{"id":1e99999,"return_code":1.0e-400},{"id":" 7 ","return_code":" 1"}]}`,
		`{"api_url":"u","commands":[{"id":1,"return_code":null,"json_resources":[null,1,{"id":null,"resource_query":null}]}]}`,
		"{\"api_url\":\"u\"\t,\r\n\"commands\" : [ { \"id\" : 1 } ] }\n",
		"{\"api_url\":\"\xff\",\"commands\":[]}", "{\"api_url\":\"u\",\"commands\":[{\"id\":1,\"command\":\"\xc3\"}]}",
	} {
		out = append(out, []byte(s))
	}
	return out
}

// readFuzzFile reads a Go fuzz corpus file holding one []byte.
func readFuzzFile(name string) ([]byte, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	lines := strings.SplitN(string(b), "\n", 3)
	if len(lines) < 2 || !strings.HasPrefix(lines[1], "[]byte(") {
		return nil, errors.New("not a []byte corpus file")
	}
	lit := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(lines[1]), "[]byte("), ")")
	s, err := unquoteGo(lit)
	return []byte(s), err
}

// mutate changes raw in one of a few ways a careless or hostile sender
// would: a byte changed, a range cut or doubled, a JSON fragment spliced in.
func mutate(r *rand.Rand, raw []byte) []byte {
	fragments := []string{`null`, `true`, `1`, `-1.5e3`, `1e400`, `"x"`, `"\/"`, `"\ud83d\ude00"`, `"\u0069d"`, `{}`, `[]`, `,`, `:`, `{"id":1}`,
		`"id":`, `"api_url":`, `"commands":`, `"json_resources":`, `"event":"bolt.run.started",`, `"event":"bolt.run.completed",`,
		`[null]`, `{"a":1,"a":2}`, `"return_code":"7",`, `"path":9,`, "\xff", `\`, `"`, ` `}
	b := append([]byte(nil), raw...)
	for n := 1 + r.IntN(3); n > 0; n-- {
		if len(b) == 0 {
			b = append(b, fragments[r.IntN(len(fragments))]...)
			continue
		}
		i := r.IntN(len(b))
		switch r.IntN(5) {
		case 0:
			b[i] = byte(r.IntN(256))
		case 1:
			const structural = "{}[]\",:0n\\ "
			b[i] = structural[r.IntN(len(structural))]
		case 2:
			j := i + r.IntN(min(64, len(b)-i)+1)
			b = append(b[:i], b[j:]...)
		case 3:
			j := i + r.IntN(min(64, len(b)-i)+1)
			b = append(b[:j], append(append([]byte(nil), b[i:j]...), b[j:]...)...)
		default:
			f := fragments[r.IntN(len(fragments))]
			b = append(b[:i], append([]byte(f), b[i:]...)...)
		}
	}
	return b
}

// TestParsePayloadSameAsRef: the single-pass parser against the previous
// implementation, on the corpus and on mutations of it (a fixed seed, so a
// failure reproduces; BOLTFETCH_PAYLOAD_MUTATIONS raises the count).
func TestParsePayloadSameAsRef(t *testing.T) {
	t.Parallel()
	corpus := append(diffCorpus(t), syntheticPayload(8, 2), syntheticPayload(1, 0))
	for _, raw := range corpus {
		sameAsRef(t, raw)
	}
	n := 10000
	if s := os.Getenv("BOLTFETCH_PAYLOAD_MUTATIONS"); s != "" {
		if _, err := fmtSscan(s, &n); err != nil {
			t.Fatalf("BOLTFETCH_PAYLOAD_MUTATIONS=%q: %v", s, err)
		}
	}
	r := rand.New(rand.NewPCG(8, 7))
	accepted := 0
	for range n {
		raw := mutate(r, corpus[r.IntN(len(corpus))])
		sameAsRef(t, raw)
		if _, err := ParsePayload(raw); err == nil {
			accepted++
		}
	}
	t.Logf("%d mutated payloads, %d accepted by both", n, accepted)
}

// FuzzParsePayloadSameAsRef: the single-pass parser against the previous
// implementation on any input.
func FuzzParsePayloadSameAsRef(f *testing.F) {
	for _, raw := range diffCorpus(f) {
		f.Add(raw)
	}
	f.Add(syntheticPayload(8, 2))
	f.Fuzz(func(t *testing.T, raw []byte) { sameAsRef(t, raw) })
}

func unquoteGo(s string) (string, error) { return strconv.Unquote(s) }

func fmtSscan(s string, n *int) (int, error) { return fmt.Sscan(s, n) }
