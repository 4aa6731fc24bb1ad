package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/boltfetch/boltfetch/archive/blobstore"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// versionLine is what --version prints after "boltfetch version": the
// version and the object-storage schemes this build can open (none in a
// build with -tags nocloud).
func versionLine() string {
	schemes := "none (built with -tags nocloud)"
	if len(blobstore.Drivers) > 0 {
		schemes = strings.Join(blobstore.Drivers, ", ")
	}
	return version + " (object storage: " + schemes + ")"
}

// Exit codes shared by every command.
const (
	exitOK       = 0 // the job was done, whatever dbt's outcome
	exitPartial  = 1 // some follow-up failed; the report says which
	exitBadInput = 2 // unusable input or configuration
	// exitDBTFailed is for --fail-on-dbt-failure: the follow-up was
	// complete and dbt itself failed. Codes 1 and 2 take precedence.
	exitDBTFailed = 3
)

// exitError carries an exit code out of a command's RunE.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// withCode wraps err so that the process exits with code.
func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// iostreams is the terminal I/O of one invocation. Machine output goes to Out,
// logs and progress to Err; progress bars only when ErrTTY is true.
type iostreams struct {
	In     io.Reader
	Out    io.Writer
	Err    io.Writer
	ErrTTY bool
	// Getenv reads the environment (os.Getenv when nil): tests give each
	// invocation an environment of its own.
	Getenv func(string) string
}

// getenv reads the invocation's environment.
func (s *iostreams) getenv(key string) string {
	if s.Getenv == nil {
		return os.Getenv(key)
	}
	return s.Getenv(key)
}

func defaultStreams() *iostreams {
	return &iostreams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, ErrTTY: isTerminal(os.Stderr), Getenv: os.Getenv}
}

// isTerminal reports whether f is a character device (a TTY), without cgo.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func newRootCmd(io *iostreams) *cobra.Command {
	root := &cobra.Command{
		Use:           "boltfetch",
		Short:         "Fetch, archive and explain the outcome of Paradime Bolt runs",
		Version:       versionLine(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(io.In)
	root.SetOut(io.Out)
	root.SetErr(io.Err)
	root.AddCommand(
		newAnalyzeCmd(io, nil),
		newFetchCmd(io, nil),
		newDemoCmd(io, nil),
		newLineageCmd(io, nil),
		newServeCmd(io, nil),
		newInboxCmd(io),
		newBackfillCmd(io, nil),
	)
	return root
}

// shutdownSignals end a command cleanly: Ctrl-C, a service manager's
// SIGTERM, and SIGHUP, which a dropped ssh session sends.
var shutdownSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// run executes the CLI and returns the process exit code.
func run(args []string, io *iostreams) int {
	ctx, stop := signal.NotifyContext(context.Background(), shutdownSignals...)
	defer stop()
	// The first signal cancels the work, which then ends cleanly (no
	// half-written file, a report of what was done); a second one kills
	// the process at once.
	go func() {
		<-ctx.Done()
		stop()
	}()
	root := newRootCmd(io)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(io.Err, "boltfetch:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	// Cobra's own errors (unknown flag, wrong arguments) are bad input.
	return exitBadInput
}
