package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/boltfetch/boltfetch/client"
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
