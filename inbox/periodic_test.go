package inbox

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestPeriodicConfig(t *testing.T) {
	run := func(context.Context) error { return nil }
	for name, ps := range map[string][]Periodic{
		"no name":   {{Every: time.Second, Run: run}},
		"twice":     {{Name: "a", Every: time.Second, Run: run}, {Name: "a", Every: time.Second, Run: run}},
		"no func":   {{Name: "a", Every: time.Second}},
		"too often": {{Name: "a", Every: time.Millisecond, Run: run}},
	} {
		_, err := Config{DataDir: t.TempDir(), Periodic: ps}.withDefaults()
		if err == nil || !strings.Contains(err.Error(), "periodic task") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := (Config{DataDir: t.TempDir(), Periodic: []Periodic{{Name: "a", Every: time.Second, Run: run}}}).withDefaults(); err != nil {
		t.Error(err)
	}
}

// TestPeriodicRuns: a periodic task runs at start and then every interval,
// on both drivers, and is not counted among the follow-ups.
func TestPeriodicRuns(t *testing.T) {
	for _, dc := range driverCases() {
		t.Run(dc.name, func(t *testing.T) {
			cfg := dc.store(t)
			passes := make(chan struct{}, 100)
			cfg.FetchPollInterval = 10 * time.Millisecond
			cfg.FollowUp = func(context.Context, int64, []byte) (Outcome, error) { return Outcome{Complete: true}, nil }
			cfg.Periodic = []Periodic{{Name: "tick", Every: 100 * time.Millisecond, Run: func(context.Context) error {
				passes <- struct{}{}
				return nil
			}}}
			ctx := context.Background()
			ib, err := Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer ib.Close()
			if err := ib.Start(ctx); err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				select {
				case <-passes:
				case <-time.After(20 * time.Second):
					t.Fatalf("pass %d did not come", i+1)
				}
			}
			if err := ib.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			depth, err := ib.Depth(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for st, n := range depth {
				if n != 0 {
					t.Errorf("%d runs %s: periodic passes counted as follow-ups", n, st)
				}
			}
		})
	}
}
