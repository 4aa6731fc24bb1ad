package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/boltfetch/boltfetch/client"
	"github.com/boltfetch/boltfetch/pull"
)

// pullFlags is what `fetch --run-id` was asked.
type pullFlags struct {
	RunID     int64
	Schedule  string
	Workspace string
}

// addPullFlags registers fetch's pull-mode flags.
func addPullFlags(f *pflag.FlagSet, p *pullFlags) {
	f.Int64Var(&p.RunID, "run-id", 0, "follow up this Bolt run from the API alone (--api-endpoint), with no payload argument")
	f.StringVar(&p.Schedule, "schedule", "", "with --run-id: the schedule name of the run's archive folder (default: unknown-schedule)")
	f.StringVar(&p.Workspace, "workspace", "", "with --run-id: the workspace name of the run's archive folder (default: the workspace uid, else unknown-workspace)")
}

// fetchArgs wants one payload argument, or none with --run-id.
func fetchArgs(cmd *cobra.Command, args []string) error {
	if cmd.Flags().Changed("run-id") {
		if len(args) != 0 {
			return fmt.Errorf("--run-id takes no payload argument (got %d)", len(args))
		}
		return nil
	}
	for _, name := range []string{"schedule", "workspace"} {
		if cmd.Flags().Changed(name) {
			return fmt.Errorf("--%s only applies with --run-id (a payload names its own schedule and workspace)", name)
		}
	}
	return cobra.ExactArgs(1)(cmd, args)
}

// runFetchRunID does `boltfetch fetch --run-id N`: the run's payload is
// built from the API, then followed up exactly as a payload file is.
func runFetchRunID(ctx context.Context, opts *fetchOptions, runF func(*fetchOptions) error) error {
	if runF != nil {
		return runF(opts)
	}
	cfg, err := opts.config()
	if err != nil {
		return withCode(exitBadInput, err)
	}
	if opts.pull.RunID <= 0 {
		return withCode(exitBadInput, fmt.Errorf("--run-id %d: want a positive Bolt run id", opts.pull.RunID))
	}
	if err := needEndpoint(cfg.client); err != nil {
		return withCode(exitBadInput, fmt.Errorf("--run-id: %w", err))
	}
	ctx, o, done, err := opts.open(ctx, cfg)
	if err != nil {
		return err
	}
	defer done()
	ccfg := cfg.client
	ccfg.Logger = o.logger
	api, err := client.New(ccfg)
	if err != nil {
		return withCode(exitBadInput, word(err))
	}
	info := pull.RunInfo{
		APIURL: ccfg.Endpoint, Schedule: opts.pull.Schedule, Workspace: opts.pull.Workspace, WorkspaceUID: ccfg.WorkspaceUID,
	}
	raw, err := pull.Payload(ctx, api, opts.pull.RunID, info)
	var nf *pull.NotFinishedError
	switch {
	case errors.As(err, &nf):
		o.Close() // no bars left over above the answer
		return writeNotFinished(opts.io.Out, opts.Format, nf)
	case err != nil:
		return withCode(pullErrCode(err), word(err))
	}
	return o.followUp(ctx, raw, cfg.client, opts.Format, opts.FailOnDBTFailure)
}

// needEndpoint: pull mode has no payload, so no api_url but the configured
// one.
func needEndpoint(cfg client.Config) error {
	if cfg.Endpoint == "" {
		return errors.New("pull mode asks the API directly: set --api-endpoint or PARADIME_API_ENDPOINT")
	}
	return nil
}

// pullErrCode is the exit code of a run whose payload could not be built:
// an unknown run or refused credentials are bad input (2); an API that
// could not be reached is a failed follow-up (1).
func pullErrCode(err error) int {
	var auth *client.AuthError
	if errors.Is(err, pull.ErrUnknownRun) || errors.As(err, &auth) {
		return exitBadInput
	}
	return exitPartial
}

// writeNotFinished reports a STARTING or RUNNING run: nothing to fetch,
// nothing written, exit 0.
func writeNotFinished(w io.Writer, format string, nf *pull.NotFinishedError) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{
			"nothing_to_fetch": true,
			"run":              map[string]any{"id": nf.RunID, "state": nf.State},
			"reason":           "not finished",
		})
	}
	_, err := fmt.Fprintf(w, "Run %d is %s: not finished; nothing to fetch.\n", nf.RunID, nf.State)
	return err
}
