package fetcher

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/boltfetch/boltfetch/archive"
	"github.com/boltfetch/boltfetch/client"
	"github.com/boltfetch/boltfetch/internal/fakebolt"
)

// Every kind is transient or permanent, as serve's retries need; a status
// error is transient only for 5xx, 408 and 429.
func TestItemErrorRetryable(t *testing.T) {
	t.Parallel()
	transient := []string{KindTransport, KindRateLimited, KindExpired, KindTruncated, KindArchive, KindLineage, KindCanceled}
	permanent := []string{KindQueryRefused, KindPathRefused, KindNotFound, KindAuth, KindDecode, KindBodyTooLarge, KindTooLarge,
		KindAnalysis, KindBadPayload, KindGraphQL, KindBadURL, KindHostNotAllowed, KindError}
	for _, k := range transient {
		if !(ItemError{Kind: k}).Retryable() {
			t.Errorf("%s: not retryable, want transient", k)
		}
	}
	for _, k := range permanent {
		if (ItemError{Kind: k}).Retryable() {
			t.Errorf("%s: retryable, want permanent", k)
		}
	}
	for code, want := range map[int]bool{500: true, 502: true, 503: true, 504: true, 408: true, 429: true, 400: false, 404: false, 410: false, 0: false} {
		if got := (ItemError{Kind: KindStatus, StatusCode: code}).Retryable(); got != want {
			t.Errorf("status %d: Retryable = %v, want %v", code, got, want)
		}
	}
	// The status travels from the typed error into the item.
	if e := itemErr(StageAPIQuery, fmt.Errorf("x: %w", &client.StatusError{StatusCode: 500})); e.Kind != KindStatus || e.StatusCode != 500 || !e.Retryable() {
		t.Errorf("itemErr of a 500 = %+v", e)
	}
	if e := itemErr(StageDownload, &DownloadError{Kind: KindStatus, StatusCode: 404}); e.StatusCode != 404 || e.Retryable() {
		t.Errorf("itemErr of a download 404 = %+v", e)
	}

	rep := &Report{Errors: []ItemError{{Kind: KindNotFound}, {Kind: KindTransport}}}
	if !rep.Retryable() {
		t.Error("incomplete report with a transport error: not retryable")
	}
	rep.Errors = rep.Errors[:1]
	if rep.Retryable() {
		t.Error("report whose errors are all permanent: retryable")
	}
	if (&Report{Summary: Summary{Complete: true}}).Retryable() {
		t.Error("complete report: retryable")
	}
}

// Unusable input is typed: errors.Is(err, ErrBadInput) holds for a bad
// payload, a refused host and bad options, and for nothing Fetch puts in
// the report. OptionsError names no CLI flag.
func TestFetchBadInputTyped(t *testing.T) {
	t.Parallel()
	_, _, payload := startDemo(t, fakebolt.Options{})
	st, _ := newStore(t)
	cases := map[string]func() error{
		"payload": func() error {
			_, err := Fetch(context.Background(), strings.NewReader(`{"api_url":"u","commands":{}}`), fastOpts(newClient(t), st))
			return err
		},
		"host": func() error {
			c := newClient(t, func(cfg *client.Config) { cfg.AllowHosts = nil })
			_, err := Fetch(context.Background(), bytes.NewReader(payload), fastOpts(c, st))
			return err
		},
		"options": func() error {
			o := fastOpts(newClient(t), st)
			o.Artifacts = []string{"["}
			_, err := Fetch(context.Background(), bytes.NewReader(payload), o)
			return err
		},
	}
	for name, f := range cases {
		err := f()
		if !errors.Is(err, ErrBadInput) {
			t.Errorf("%s: err = %v, want it to match ErrBadInput", name, err)
		}
		// The refused host's words are the client's.
		if err != nil && name != "host" && strings.Contains(err.Error(), "--") {
			t.Errorf("%s: error %q names a CLI flag", name, err)
		}
	}
	var oe *OptionsError
	if err := cases["options"](); !errors.As(err, &oe) || oe.Option != OptionArtifacts || oe.Value != "[" {
		t.Errorf("options error = %#v", err)
	}
}

// One bad command entry among good ones is that command's item error; the
// good ones are fetched.
func TestFetchBadCommandEntry(t *testing.T) {
	t.Parallel()
	_, _, payload := startDemo(t, fakebolt.Options{})
	st, _ := newStore(t)
	bad := bytes.Replace(payload, []byte(`"commands": [`), []byte(`"commands": [{"id":5,"json_resources":{"path":"x"}},`), 1)
	if bytes.Equal(bad, payload) {
		t.Fatalf("payload shape changed: %s", payload[:200])
	}
	rep := fetch(t, bad, fastOpts(newClient(t), st))
	if len(rep.Errors) != 1 {
		t.Fatalf("errors = %+v, want exactly the bad entry's", rep.Errors)
	}
	e := rep.Errors[0]
	if e.Stage != StagePayload || e.Kind != KindBadPayload || !strings.Contains(e.Message, "commands[0].json_resources: an object, want an array") || e.Retryable() {
		t.Errorf("error = %+v", e)
	}
	if rep.Summary.ArtifactsArchived != 4 || len(rep.Commands) != 5 {
		t.Errorf("summary = %+v", rep.Summary)
	}
}

// report.json decodes back into the Report that Fetch returned, analysis
// included, and encodes again to the same bytes; a newer version is refused.
func TestDecodeReportRoundTrip(t *testing.T) {
	t.Parallel()
	_, _, payload := startDemo(t, fakebolt.Options{})
	st, dir := newStore(t)
	rep := fetch(t, payload, fastOpts(newClient(t), st))
	if rep.ReportVersion != ReportVersion || rep.Summary.Analyses != 2 {
		t.Fatalf("report: version %d, %d analyses", rep.ReportVersion, rep.Summary.Analyses)
	}
	raw, err := os.ReadFile(filepath.Join(dir, demoFolder, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeReport(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rep, back, cmpopts.EquateEmpty(), cmpopts.IgnoreUnexported(Report{})); diff != "" {
		t.Errorf("decoded report (-fetched +decoded):\n%s", diff)
	}
	var again bytes.Buffer
	if err := back.WriteJSON(&again); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw, again.Bytes()) {
		t.Error("re-encoding the decoded report gives other bytes")
	}
	newer := bytes.Replace(raw, []byte(`"report_version": 2`), []byte(`"report_version": 3`), 1)
	if _, err := DecodeReport(bytes.NewReader(newer)); err == nil {
		t.Error("a report of a newer version was accepted")
	}
	if _, err := DecodeReport(strings.NewReader(`{"event":"x","event":"y"}`)); err == nil {
		t.Error("a report with a duplicate key was accepted")
	}
}

// Stores that are not an archive.Locker are serialised in this process.
func TestKeyedLocks(t *testing.T) {
	t.Parallel()
	var k = keyedLocks{held: map[string]chan struct{}{}}
	unlock, err := k.lock(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := k.lock(ctx, "a"); !errors.Is(err, context.Canceled) {
		t.Fatalf("second lock = %v, want canceled", err)
	}
	u2, err := k.lock(context.Background(), "b")
	if err != nil {
		t.Fatal(err)
	}
	u2()
	unlock()
	unlock()
	u3, err := k.lock(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	u3()
}

var _ archive.Locker = (*archive.Local)(nil)
