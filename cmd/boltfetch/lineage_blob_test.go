//go:build !nocloud

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/boltfetch/boltfetch/fetcher"
	"github.com/boltfetch/boltfetch/internal/s3fake"
)

// eventTimeField matches an event's eventTime, normalised away when two
// exports are compared.
var eventTimeField = regexp.MustCompile(`"eventTime":"[^"]*"`)

// readEvents returns the NDJSON lines of name, eventTime normalised.
func readEvents(t *testing.T, name string) []string {
	t.Helper()
	raw, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	raw = eventTimeField.ReplaceAll(raw, []byte(`"eventTime":"-"`))
	return strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
}

// sameEvents fails unless got holds the events of want, line for line.
func sameEvents(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d events, want %d", what, len(got), len(want))
		return
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%s: event %d differs:\n got %s\nwant %s", what, i, got[i], want[i])
			return
		}
	}
}

// lineageRun runs `boltfetch lineage` with args and returns the events it
// wrote to a new file.
func lineageRun(t *testing.T, args ...string) []string {
	t.Helper()
	events := filepath.Join(t.TempDir(), "events.ndjson")
	var stderr bytes.Buffer
	args = append([]string{"lineage", "--openlineage-file", events}, args...)
	if code := run(args, &iostreams{In: strings.NewReader(""), Out: new(bytes.Buffer), Err: &stderr, Getenv: noEnv}); code != exitOK {
		t.Fatalf("%v: exit %d\n%s", args, code, stderr.String())
	}
	return readEvents(t, events)
}

// noErrors fails on any error in a follow-up's report.
func noErrors(t *testing.T, what string, rep *fetcher.Report) {
	t.Helper()
	if len(rep.Errors) > 0 || !rep.Summary.Complete {
		t.Fatalf("%s: complete %v, errors %+v", what, rep.Summary.Complete, rep.Errors)
	}
	for _, c := range rep.Commands {
		if len(c.Errors) > 0 {
			t.Fatalf("%s: command %s errors %+v", what, c.ID, c.Errors)
		}
	}
}

// TestLineageBucketAndCompressed: the OpenLineage events of one run are the
// same whether the follow-up archived it into a local folder or, with
// --compress zstd, into S3 (gofakes3 through s3blob), and `boltfetch
// lineage` sends those same events again from a bucket archive, plain or
// compressed, and from a compressed local archive.
func TestLineageBucketAndCompressed(t *testing.T) {
	s3srv := s3Env(t)
	_, payload, host := fakeForCLI(t, nil)
	dir := t.TempDir()

	// The reference: a plain local follow-up and its events.
	local := filepath.Join(dir, "local")
	localEvents := filepath.Join(dir, "local.ndjson")
	code, rep, errs := fetchInto(t, local, payload, host, "--openlineage-file", localEvents)
	if code != exitOK {
		t.Fatalf("local: exit %d\n%s", code, errs)
	}
	noErrors(t, "local", rep)
	want := readEvents(t, localEvents)
	if len(want) != 51 {
		t.Fatalf("the local follow-up sent %d events, want the demo run's 51", len(want))
	}
	for _, s := range []string{`"eventType":"ABORT"`, `Database Error in model stg_dim_time`, `"dataQualityAssertions"`, `"errorMessage"`} {
		if !strings.Contains(strings.Join(want, "\n"), s) {
			t.Fatalf("the reference events lack %s", s)
		}
	}
	runKey := rep.Archive.Folder

	// The follow-up's own export, from a compressed bucket archive.
	zstURL := s3srv.BucketURL("arch", "lin/zst")
	zstEvents := filepath.Join(dir, "zst.ndjson")
	code, rep, errs = fetchInto(t, zstURL, payload, host, "--compress", "zstd", "--openlineage-file", zstEvents)
	if code != exitOK {
		t.Fatalf("s3 zstd: exit %d\n%s", code, errs)
	}
	noErrors(t, "s3 zstd", rep)
	if a := rep.Commands[len(rep.Commands)-1].Artifacts[0]; a.Compression != "zstd" {
		t.Fatalf("the bucket archive is not compressed: %+v", a)
	}
	sameEvents(t, "fetch --compress zstd --out s3://", readEvents(t, zstEvents), want)

	// `boltfetch lineage` from the compressed bucket archive.
	s3srv.ResetCounts()
	puts := s3srv.PUTs()
	sameEvents(t, "lineage --out s3:// (zstd)", lineageRun(t, "--out", zstURL, runKey), want)
	if s3srv.PUTs() != puts {
		t.Errorf("lineage wrote %d object(s) into the archive it reads", s3srv.PUTs()-puts)
	}
	for _, k := range s3srv.GETKeys() {
		if strings.HasSuffix(k, "manifest.json") || strings.HasSuffix(k, "run_results.json") || strings.HasSuffix(k, ".log") {
			t.Errorf("GET %s: the report records the content as compressed, so its plain key is not asked for", k)
		}
	}

	// From a plain bucket archive.
	plainURL := s3srv.BucketURL("arch", "lin/plain")
	if code, rep, errs = fetchInto(t, plainURL, payload, host); code != exitOK {
		t.Fatalf("s3 plain: exit %d\n%s", code, errs)
	}
	noErrors(t, "s3 plain", rep)
	sameEvents(t, "lineage --out s3:// (plain)", lineageRun(t, "--out", plainURL, runKey), want)

	// From a compressed local archive, by run folder and under --out.
	localZst := filepath.Join(dir, "local-zst")
	if code, rep, errs = fetchInto(t, localZst, payload, host, "--compress", "zstd"); code != exitOK {
		t.Fatalf("local zstd: exit %d\n%s", code, errs)
	}
	noErrors(t, "local zstd", rep)
	if _, err := os.Stat(filepath.Join(localZst, filepath.FromSlash(runKey), "commands", "193442", "target", "manifest.json")); err == nil {
		t.Fatal("the local archive holds a plain manifest: not compressed")
	}
	sameEvents(t, "lineage RUN-folder (local zstd)", lineageRun(t, filepath.Join(localZst, filepath.FromSlash(runKey))), want)
	sameEvents(t, "lineage --out folder (local zstd)", lineageRun(t, "--out", localZst, runKey), want)
	sameEvents(t, "lineage --out file:// (local zstd)", lineageRun(t, "--out", "file://"+filepath.ToSlash(localZst), runKey), want)

	// And the plain local archive gives them back too.
	sameEvents(t, "lineage --out folder (plain)", lineageRun(t, "--out", local, runKey), want)
}

// TestLineageBucketErrors: a missing bucket or run under a bucket URL is
// bad input (exit 2), and the error shows neither the secret key nor the
// URL's query string.
func TestLineageBucketErrors(t *testing.T) {
	s3srv := s3Env(t)
	events := filepath.Join(t.TempDir(), "e.ndjson")
	for _, c := range []struct{ url, want string }{
		{s3srv.BucketURL("nope", "x"), "bucket not found"},
		{s3srv.BucketURL("arch", "empty"), "no report.json"},
	} {
		var stderr bytes.Buffer
		code := run([]string{"lineage", "--out", c.url, "ws/sched/1", "--openlineage-file", events}, &iostreams{In: strings.NewReader(""), Out: new(bytes.Buffer), Err: &stderr, Getenv: noEnv})
		msg := stderr.String()
		if code != exitBadInput || !strings.Contains(msg, c.want) {
			t.Errorf("%s: exit %d, want 2 with %q:\n%s", c.url, code, c.want, msg)
		}
		if strings.Contains(msg, "use_path_style") || strings.Contains(msg, s3fake.SecretAccessKey) {
			t.Errorf("the error shows the URL's query: %s", msg)
		}
	}
	if _, err := os.Stat(events); err == nil {
		if raw, _ := os.ReadFile(events); len(raw) > 0 {
			t.Errorf("events written on bad input: %s", raw)
		}
	}
}
