package main

import (
	"strings"
	"testing"
	"time"
)

func TestServeReconcileFlags(t *testing.T) {
	t.Parallel()
	env := map[string]string{"PARADIME_API_KEY": "k", "PARADIME_API_SECRET": "s",
		"PARADIME_API_ENDPOINT": "https://api.paradime.io/api/v1/t0ken/graphql", "BOLTFETCH_WEBHOOK_TOKEN": "env-token-0123456789abcdef"}
	o := parseServe(t, env, "--reconcile-schedule", "daily", "--reconcile-schedule", "hourly", "--reconcile-workspace", "acme")
	if _, err := o.config(); err != nil {
		t.Fatal(err)
	}
	if r := o.reconcile; strings.Join(r.Schedules, ",") != "daily,hourly" || r.Every != 15*time.Minute || r.Grace != 10*time.Minute ||
		r.Lookback != 24*time.Hour || r.Workspace != "acme" {
		t.Errorf("reconcile flags %+v", r)
	}
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--reconcile-schedule", "daily"}, map[string]string{"PARADIME_API_KEY": "k", "PARADIME_API_SECRET": "s", "BOLTFETCH_WEBHOOK_TOKEN": "env-token-0123456789abcdef"}, "--api-endpoint"},
		{[]string{"--reconcile-schedule", ""}, env, "want a schedule name"},
		{[]string{"--reconcile-schedule", "daily", "--reconcile-every", "1ms"}, env, "--reconcile-every"},
		{[]string{"--reconcile-schedule", "daily", "--reconcile-grace", "-1s"}, env, "--reconcile-grace"},
		{[]string{"--reconcile-schedule", "daily", "--reconcile-lookback", "5m"}, env, "--reconcile-lookback"},
		{[]string{"--reconcile-schedule", "daily", "--retention", "12h"}, env, "want less than --retention"},
	} {
		_, err := parseServe(t, tc.env, tc.args...).config()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error naming %s", tc.args, err, tc.want)
		}
	}
	// Without --reconcile-schedule the other flags are not checked.
	if _, err := parseServe(t, env, "--reconcile-every", "1ms").config(); err != nil {
		t.Errorf("no reconciler: %v", err)
	}
}
