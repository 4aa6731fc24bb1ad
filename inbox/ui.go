package inbox

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"riverqueue.com/riverui"
)

// UI returns River's web UI for this inbox (riverui), its pages and API under
// prefix (such as "/ui"). The UI can retry, cancel and delete jobs: mount it
// only behind authentication. It shows a job's arguments, which hold the run
// id only; payloads (whose api_url carries a token) stay in their own table.
// The UI's background work ends when the inbox is closed.
func (ib *Inbox) UI(prefix string, logger *slog.Logger) (http.Handler, error) {
	if logger == nil {
		logger = ib.cfg.Logger
	}
	ib.mu.Lock()
	defer ib.mu.Unlock()
	if ib.closed {
		return nil, fmt.Errorf("%w: the inbox is closed", ErrUnavailable)
	}
	if ib.uiCtx == nil {
		ib.uiCtx, ib.uiEnd = context.WithCancel(context.Background())
	}
	h, err := ib.b.ui(prefix, logger)
	if err != nil {
		return nil, fmt.Errorf("inbox: job UI: %w", err)
	}
	if err := h.Start(ib.uiCtx); err != nil {
		return nil, fmt.Errorf("inbox: job UI: %w", err)
	}
	return h, nil
}

func (e *engine[TTx]) ui(prefix string, logger *slog.Logger) (*riverui.Handler, error) {
	return riverui.NewHandler(&riverui.HandlerOpts{
		Endpoints:                riverui.NewEndpoints(e.client, nil),
		JobListHideArgsByDefault: false,
		Logger:                   logger,
		Prefix:                   prefix,
	})
}
