package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/boltfetch/boltfetch/archive"
	"github.com/boltfetch/boltfetch/client"
	"github.com/boltfetch/boltfetch/fetcher"
	"github.com/boltfetch/boltfetch/internal/sharedtest"
)

// TestWord: every typed library error that a flag can fix is worded with
// that flag, and keeps its cause for errors.As.
func TestWord(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want []string
	}{
		{&client.ConfigError{Setting: client.SettingAPISecret, Missing: true, Reason: "missing"}, []string{"PARADIME_API_SECRET", "--api-secret"}},
		{&client.ConfigError{Setting: client.SettingAPIKey, Missing: true, Reason: "missing"}, []string{"PARADIME_API_KEY", "--api-key", "prdm_wsp_"}},
		{&client.ConfigError{Setting: client.SettingWorkspaceUID, Missing: true, Reason: "missing"}, []string{"PARADIME_WORKSPACE_UID", "--workspace-uid"}},
		{&client.ConfigError{Setting: client.SettingEndpoint, Host: "api.paradime.io", Reason: "port 99999 is out of range (1-65535)"}, []string{"--api-endpoint", "PARADIME_API_ENDPOINT", "out of range"}},
		{&client.ConfigError{Setting: client.SettingAllowHosts, Value: "*.io", Reason: "too broad"}, []string{`--allow-host "*.io": too broad`}},
		{&client.ConfigError{Setting: client.SettingAllowHosts, Reason: "an empty entry"}, []string{"--allow-host: an empty host"}},
		{fmt.Errorf("payload api_url refused: %w", &client.HostNotAllowedError{Host: "evil.example", Reason: "matches no allowed pattern", Allowable: true}), []string{"payload api_url refused", "--allow-host evil.example"}},
		{&client.BodyTooLargeError{Host: "api.paradime.io", Limit: 10}, []string{"10-byte limit", "--max-response-size"}},
		{&client.AuthError{Host: "h", StatusCode: 401}, []string{"--api-key"}},
		{&fetcher.OptionsError{Option: fetcher.OptionCompression, Value: "gzip", Reason: "want zstd or nothing"}, []string{`--compress "gzip": want zstd or nothing`}},
	}
	for _, tt := range tests {
		got := word(tt.err)
		for _, w := range tt.want {
			if !strings.Contains(got.Error(), w) {
				t.Errorf("word(%v) = %q, lacks %q", tt.err, got, w)
			}
		}
		if !errors.Is(got, tt.err) {
			t.Errorf("word(%v) lost its cause", tt.err)
		}
	}
	// A refusal no flag can fix is not told to use one.
	bad := &client.HostNotAllowedError{Host: "api.paradime.io", Reason: "port 99999 is out of range (1-65535)", BadURL: true}
	if got := word(bad); strings.Contains(got.Error(), "--allow-host") {
		t.Errorf("a bad URL is worded %q", got)
	}
	plain := errors.New("other")
	if word(plain) != plain || word(nil) != nil {
		t.Error("an unknown error was changed")
	}
}

// TestWordFetcherErrors: each typed error the fetcher returns, produced by
// the real fetcher before any request, names no flag itself (its words are
// the library's), and the CLI words it with the flag that fixes it.
func TestWordFetcherErrors(t *testing.T) {
	t.Parallel()
	c, err := client.New(client.Config{APIKey: "k", APISecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	store, err := archive.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	payload, err := os.ReadFile(sharedtest.Fixture(t, "paradime/completed.json"))
	if err != nil {
		t.Fatal(err)
	}
	fetch := func(p []byte, edit func(*fetcher.Options)) error {
		opts := fetcher.Options{Client: c, Archive: store}
		edit(&opts)
		_, err := fetcher.Fetch(context.Background(), bytes.NewReader(p), opts)
		return err
	}
	tests := []struct {
		name string
		err  error
		want []string // in the CLI's words
	}{
		{"artifacts", fetch(payload, func(o *fetcher.Options) { o.Artifacts = []string{"target/["} }), []string{`--artifacts "target/[": bad glob`}},
		{"logs", fetch(payload, func(o *fetcher.Options) { o.Logs = "some" }), []string{`--logs "some": want all, failed or none`}},
		{"concurrency", fetch(payload, func(o *fetcher.Options) { o.Concurrency = -1 }), []string{`--concurrency "-1": negative`}},
		{"max artifact size", fetch(payload, func(o *fetcher.Options) { o.MaxArtifactSize = -5 }), []string{`--max-artifact-size "-5": negative`}},
		{"archive", fetch(payload, func(o *fetcher.Options) { o.Archive = nil }), []string{"--out: none given"}},
		{"payload size", fetch(payload, func(o *fetcher.Options) { o.MaxPayloadSize = 100 }), []string{"--max-payload-size cap of 100 bytes"}},
		// The fixture's api_url is on app.paradime.io: allowed by default.
		// Another host is refused before anything is sent.
		{"api_url host", fetch(bytes.Replace(payload, []byte("paradime.io"), []byte("paradime.example"), 1), func(*fetcher.Options) {}),
			[]string{"--allow-host", "--api-endpoint", "PARADIME_API_ENDPOINT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil {
				t.Fatal("the fetcher accepted it")
			}
			if !errors.Is(tt.err, fetcher.ErrBadInput) {
				t.Errorf("%v: not ErrBadInput", tt.err)
			}
			if lib := tt.err.Error(); strings.Contains(lib, "--") {
				t.Errorf("the library's own text names a flag: %q", lib)
			}
			got := word(tt.err)
			for _, w := range tt.want {
				if !strings.Contains(got.Error(), w) {
					t.Errorf("word(%q) = %q, lacks %q", tt.err, got, w)
				}
			}
			if !errors.Is(got, tt.err) {
				t.Errorf("word(%v) lost its cause", tt.err)
			}
		})
	}
	// An option no flag sets keeps the fetcher's words.
	folder := &fetcher.OptionsError{Option: fetcher.OptionFolder, Value: "../x", Reason: "not a clean archive key"}
	if word(folder) != error(folder) {
		t.Errorf("an option with no flag was reworded: %q", word(folder))
	}
	// A payload no flag can fix is not told to use one.
	bad := fetch([]byte(`{"api_url": "https://api.paradime.io/x", "commands": {}}`), func(*fetcher.Options) {})
	if got := word(bad).Error(); bad == nil || strings.Contains(got, "--") {
		t.Errorf("a malformed payload is worded %q", got)
	}
}

// TestLibraryErrorsNameNoFlags: no string literal in the libraries whose
// errors the CLI words holds a CLI flag (--name); only cmd/ ties errors to
// flags. Comments may mention flags; text that reaches a user may not.
func TestLibraryErrorsNameNoFlags(t *testing.T) {
	t.Parallel()
	flag := regexp.MustCompile(`--[a-z]`)
	for _, dir := range []string{"../../fetcher", "../../client", "../../archive", "../../artifacts", "../../lineage", "../../internal/retry"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no Go files (%v)", dir, err)
		}
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING && flag.MatchString(lit.Value) {
					t.Errorf("%s: a string names a CLI flag: %s", name, lit.Value)
				}
				return true
			})
		}
	}
}
