package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/boltfetch/boltfetch/client"
	"github.com/boltfetch/boltfetch/fetcher"
	"github.com/boltfetch/boltfetch/internal/demodata"
	"github.com/boltfetch/boltfetch/internal/fakebolt"
)

// demoOptions is what `boltfetch demo` was asked.
type demoOptions struct {
	io               *iostreams
	Out              string
	outSet           bool // --out was given, maybe empty
	Format           string
	FailOnDBTFailure bool
	Lineage          lineageFlags

	archiveFlags
}

func newDemoCmd(io *iostreams, runF func(*demoOptions) error) *cobra.Command {
	opts := &demoOptions{io: io}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole follow-up against a built-in fake Bolt API, with real dbt artifacts",
		Long: `Demo starts a fake Paradime Bolt API in-process on loopback, serving a run shaped
like Paradime's published example: git clone, dbt deps, a succeeded dbt run and a
failed dbt build (one model error causing 13 skips), with real dbt artifacts.
It then follows up the run's completed payload exactly as 'boltfetch fetch'
would, into a temporary archive (or --out), and prints the report.

No account and no network are needed. It exits 0 when the follow-up completed:
the dbt failure inside the run is the point of the demo. With
--fail-on-dbt-failure it exits 3 instead, as fetch would in CI.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.outSet = cmd.Flags().Changed("out")
			if runF != nil {
				return runF(opts)
			}
			return runDemo(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Out, "out", "", "archive folder or bucket URL, as for fetch (default: a new temporary folder)")
	opts.archiveFlags.register(cmd.Flags())
	cmd.Flags().StringVar(&opts.Format, "format", "text", "report format on stdout: text, json or markdown")
	opts.Lineage.add(cmd.Flags())
	cmd.Flags().BoolVar(&opts.FailOnDBTFailure, "fail-on-dbt-failure", false, "exit 3 when the follow-up is complete but dbt itself failed (it does, in the demo run)")
	return cmd
}

func runDemo(ctx context.Context, opts *demoOptions) error {
	switch opts.Format {
	case "text", "json", "markdown":
	default:
		return withCode(exitBadInput, fmt.Errorf("--format %q: want text, json or markdown", opts.Format))
	}
	var fopts fetcher.Options
	if err := opts.archiveFlags.apply(&fopts); err != nil {
		return withCode(exitBadInput, err)
	}
	out := opts.Out
	if opts.outSet && strings.TrimSpace(out) == "" {
		return withCode(exitBadInput, errors.New("--out is empty: give the archive folder, or leave --out out for a temporary one"))
	}
	if out == "" {
		dir, err := os.MkdirTemp("", "boltfetch-demo-")
		if err != nil {
			return withCode(exitBadInput, err)
		}
		out = dir
	}
	// Throwaway credentials: they only ever travel over loopback.
	const key, secret = "demo-key", "demo-secret"
	srv := fakebolt.New(fakebolt.Options{APIKey: key, APISecret: secret})
	if err := srv.Start(); err != nil {
		return withCode(exitBadInput, err)
	}
	defer srv.Close()
	run := demodata.Run()
	srv.AddRun(run)
	payload, err := srv.CompletedPayload(run.ID)
	if err != nil {
		return withCode(exitBadInput, err)
	}
	u, err := url.Parse(srv.URL())
	if err != nil {
		return withCode(exitBadInput, err)
	}
	fmt.Fprintf(opts.io.Err, "boltfetch demo: fake Bolt API on %s, archive in %s\n", u.Host, out)
	// Allow exactly the fake's loopback host, as a user would with --allow-host.
	ccfg := client.Config{APIKey: key, APISecret: secret, AllowHosts: []string{u.Hostname()}}
	o, err := openFollowUp(ctx, opts.io, out, slog.LevelWarn, fopts, &opts.Lineage, opts.io.getenv)
	if err != nil {
		return err
	}
	defer o.Close()
	return o.followUp(ctx, payload, ccfg, opts.Format, opts.FailOnDBTFailure)
}
