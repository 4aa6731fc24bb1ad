package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"

	"github.com/boltfetch/boltfetch/client"
	"github.com/boltfetch/boltfetch/fetcher"
	"github.com/boltfetch/boltfetch/inbox"
	"github.com/boltfetch/boltfetch/pull"
	"github.com/boltfetch/boltfetch/webhook"
)

// reconcileFlags is what serve's reconciler was asked.
type reconcileFlags struct {
	Schedules []string
	Every     time.Duration
	Grace     time.Duration
	Lookback  time.Duration
	Workspace string
}

func addReconcileFlags(f *pflag.FlagSet, r *reconcileFlags) {
	f.StringArrayVar(&r.Schedules, "reconcile-schedule", nil, "list this schedule's recent runs every --reconcile-every and follow up those no webhook delivered (repeatable; needs --api-endpoint)")
	f.DurationVar(&r.Every, "reconcile-every", 15*time.Minute, "how often the reconciler lists the runs")
	f.DurationVar(&r.Grace, "reconcile-grace", pull.DefaultReconcileGrace, "leave a run that finished less than this long ago to its webhook")
	f.DurationVar(&r.Lookback, "reconcile-lookback", pull.DefaultReconcileLookback, "how far back the reconciler lists runs")
	f.StringVar(&r.Workspace, "reconcile-workspace", "", "workspace name of the archive folders of runs found by the reconciler (default: the workspace uid, else unknown-workspace)")
}

// check validates the reconciler's flags; endpoint is the configured API
// endpoint, which the reconciler needs, and retention how long the inbox
// remembers a run (a run forgotten but still listed would be followed up
// again).
func (r *reconcileFlags) check(endpoint string, retention time.Duration) error {
	if len(r.Schedules) == 0 {
		return nil
	}
	for _, s := range r.Schedules {
		if strings.TrimSpace(s) == "" {
			return errors.New("--reconcile-schedule \"\": want a schedule name")
		}
	}
	switch {
	case r.Every < inbox.MinPeriodicEvery:
		return fmt.Errorf("--reconcile-every %s: want at least %s", r.Every, inbox.MinPeriodicEvery)
	case r.Grace < 0:
		return fmt.Errorf("--reconcile-grace %s: want 0 or more", r.Grace)
	case r.Lookback <= r.Grace:
		return fmt.Errorf("--reconcile-lookback %s: want more than --reconcile-grace (%s)", r.Lookback, r.Grace)
	case r.Lookback >= retention:
		return fmt.Errorf("--reconcile-lookback %s: want less than --retention (%s), or runs the inbox forgot would be followed up again", r.Lookback, retention)
	case endpoint == "":
		return errors.New("--reconcile-schedule asks the API directly: set --api-endpoint or PARADIME_API_ENDPOINT")
	}
	return nil
}

// reconcileMetrics count what the reconciler does, on serve's registry.
type reconcileMetrics struct {
	missed *prometheus.CounterVec
	passes *prometheus.CounterVec
}

func newReconcileMetrics(m *webhook.Metrics) (*reconcileMetrics, error) {
	rm := &reconcileMetrics{
		missed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "boltfetch_reconcile_missed_runs_total",
			Help: "Finished runs the reconciler found and enqueued because no webhook had delivered them, by schedule.",
		}, []string{"schedule"}),
		passes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "boltfetch_reconcile_passes_total",
			Help: "Reconciler passes, by result (ok, error).",
		}, []string{"result"}),
	}
	for _, c := range []prometheus.Collector{rm.missed, rm.passes} {
		if err := m.Registry().Register(c); err != nil {
			return nil, err
		}
	}
	return rm, nil
}

// addTo adds the reconciler, when schedules were given, to icfg's periodic
// tasks. *ib is read at each pass: the inbox is opened after its config is
// built, and the first pass comes after its Start.
func (r *reconcileFlags) addTo(icfg *inbox.Config, ccfg client.Config, limit fetcher.Limiter, ib **inbox.Inbox, m *webhook.Metrics, log *slog.Logger) error {
	if len(r.Schedules) == 0 {
		return nil
	}
	rm, err := newReconcileMetrics(m)
	if err != nil {
		return err
	}
	ccfg.Logger = log
	ccfg.HTTPClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	api, err := client.New(ccfg)
	if err != nil {
		return word(err)
	}
	log = log.With("task", "reconcile")
	icfg.Periodic = append(icfg.Periodic, inbox.Periodic{Name: "reconcile", Every: r.Every, Run: func(ctx context.Context) error {
		res, err := pull.Reconcile(ctx, pull.ReconcileOptions{
			API: api, Queue: pull.InboxQueue(*ib), Schedules: r.Schedules,
			Workspace: r.Workspace, WorkspaceUID: ccfg.WorkspaceUID, APIURL: ccfg.Endpoint,
			Grace: r.Grace, Lookback: r.Lookback, Limiter: limit, Logger: log,
			OnMissed: func(run pull.Run) { rm.missed.WithLabelValues(run.Schedule).Inc() },
		})
		result := "ok"
		if err != nil {
			result = "error"
			log.Warn("reconcile pass failed", "error", word(err))
		}
		rm.passes.WithLabelValues(result).Inc()
		log.Info("reconcile pass", "listed", res.Listed, "missed", res.Missed, "known", res.Known,
			"too_recent", res.TooRecent, "not_finished", res.NotFinished, "failed", res.Failed)
		return err
	}})
	return nil
}
