package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/boltfetch/boltfetch/inbox"
	"github.com/boltfetch/boltfetch/internal/safetext"
)

// inboxOptions is what `boltfetch inbox` was asked.
type inboxOptions struct {
	io    *iostreams
	store storeOptions
	State string
	Limit int
	JSON  bool
}

func newInboxCmd(io *iostreams) *cobra.Command {
	opts := &inboxOptions{io: io}
	cmd := &cobra.Command{
		Use:   "inbox",
		Short: "Operate on serve's inbox directly: list runs, retry one (no server needed)",
		Long: `Inbox works on the inbox of 'boltfetch serve' directly, in --data-dir (SQLite)
or --inbox (PostgreSQL), whether or not a server is running.`,
	}
	list := &cobra.Command{
		Use:   "list [--state queued|processing|done|failed]",
		Short: "List runs, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runInboxList(cmd.Context(), opts)
		},
	}
	list.Flags().StringVar(&opts.State, "state", "", "only runs in this state: queued, processing, done or failed")
	list.Flags().IntVar(&opts.Limit, "limit", 50, "list at most this many runs (1 to 10000)")
	list.Flags().BoolVar(&opts.JSON, "json", false, "print one JSON object per run")
	addStoreFlags(list, &opts.store)
	retry := &cobra.Command{
		Use:   "retry RUN_ID",
		Short: "Follow up a run again at once (done, failed or waiting), with its stored payload",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return withCode(exitBadInput, fmt.Errorf("RUN_ID %q: want a positive integer", args[0]))
			}
			return runInboxRetry(cmd.Context(), opts, id)
		},
	}
	addStoreFlags(retry, &opts.store)
	cmd.AddCommand(list, retry)
	return cmd
}

// openInbox opens the inbox for operations only (no workers).
func openInbox(ctx context.Context, opts *inboxOptions) (*inbox.Inbox, error) {
	cfg, err := opts.store.inboxConfig(opts.io.getenv)
	if err != nil {
		return nil, withCode(exitBadInput, err)
	}
	ib, err := inbox.Open(ctx, cfg)
	if err != nil {
		return nil, withCode(exitBadInput, wordInbox(err))
	}
	return ib, nil
}

func runInboxList(ctx context.Context, opts *inboxOptions) error {
	state := inbox.State(opts.State)
	switch state {
	case "", inbox.StateQueued, inbox.StateProcessing, inbox.StateDone, inbox.StateFailed:
	default:
		return withCode(exitBadInput, fmt.Errorf("--state %q: want queued, processing, done or failed", opts.State))
	}
	if opts.Limit < 1 || opts.Limit > 10000 {
		return withCode(exitBadInput, fmt.Errorf("--limit %d: want 1 to 10000", opts.Limit))
	}
	ib, err := openInbox(ctx, opts)
	if err != nil {
		return err
	}
	defer ib.Close()
	runs, err := ib.List(ctx, state, opts.Limit)
	if err != nil {
		return err
	}
	if opts.JSON {
		enc := json.NewEncoder(opts.io.Out)
		for _, r := range runs {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(opts.io.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN_ID\tSTATE\tATTEMPTS\tRECEIVED\tFINISHED\tREPORT\tLAST_ERROR")
	for _, r := range runs {
		fin := "-"
		if r.FinishedAt != nil {
			fin = r.FinishedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\t%s\n", r.RunID, r.State, r.Attempts,
			r.ReceivedAt.UTC().Format(time.RFC3339), fin, dash(safetext.Line(r.Report)), dash(oneLine(r.LastError, 120)))
	}
	return tw.Flush()
}

func runInboxRetry(ctx context.Context, opts *inboxOptions, runID int64) error {
	ib, err := openInbox(ctx, opts)
	if err != nil {
		return err
	}
	defer ib.Close()
	st, err := ib.Retry(ctx, runID)
	switch {
	case errors.Is(err, inbox.ErrNotFound):
		return withCode(exitBadInput, fmt.Errorf("run %d is not in the inbox", runID))
	case errors.Is(err, inbox.ErrRunning):
		return withCode(exitPartial, fmt.Errorf("run %d is being followed up now; retry it once it ends", runID))
	case err != nil:
		return err
	}
	fmt.Fprintf(opts.io.Out, "run %d: %s (attempts so far: %d)\n", st.RunID, st.State, st.Attempts)
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

var lineBreaks = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "\t", " ")

// oneLine keeps a message on one line of at most n runes, with newlines and
// tabs as spaces and every other control shown escaped: a run's last error
// quotes outside text (an endpoint's answer, a payload's field).
func oneLine(s string, n int) string {
	r := []rune(safetext.Line(lineBreaks.Replace(s)))
	if len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return string(r)
}
