package fetcher

import (
	"context"
	"errors"
	"io"
	"path"

	"github.com/boltfetch/boltfetch/archive"
	"github.com/boltfetch/boltfetch/artifacts"
	"github.com/boltfetch/boltfetch/lineage"
)

// ExportLineage sends the OpenLineage events of a followed-up run: the Bolt
// run, each command and, for each command with an archived manifest and
// run_results, its dbt nodes. It reads the archived logs (a failed
// command's tail) and artifacts through store, whose keys are the report's
// paths. It returns the failures as ItemErrors of stage lineage: a
// command's artifacts that could not be read (with its command_id), and
// events the sink could not deliver (run-level; kind lineage, retryable).
func ExportLineage(ctx context.Context, ex *lineage.Exporter, rep *Report, store archive.Store) []ItemError {
	run := lineage.Run{
		ID: string(rep.Run.ID), Workspace: rep.Run.Workspace.Name, ScheduleName: rep.Run.ScheduleName,
		Status: rep.Run.Status, URL: rep.Run.RunURL,
		Start: lineage.ParseTime(rep.Run.Start), End: lineage.ParseTime(rep.Run.End),
	}
	if run.Workspace == "" {
		run.Workspace = rep.Run.Workspace.UID
	}
	rx, err := ex.Begin(ctx, run)
	if err != nil {
		return []ItemError{lineageErr("", err)}
	}
	var errs []ItemError
	for _, c := range rep.Commands {
		lc := lineageCommand(ctx, c, store)
		if err := rx.Command(ctx, lc); err != nil {
			errs = append(errs, lineageErr(c.ID, err))
		}
	}
	if err := rx.End(ctx); err != nil {
		errs = append(errs, lineageErr("", err))
	}
	return errs
}

func lineageErr(cmd ID, err error) ItemError {
	e := ItemError{CommandID: cmd, Stage: StageLineage, Kind: KindLineage, Message: err.Error()}
	var pe *artifacts.ParseError
	if errors.As(err, &pe) {
		// Unreadable artifacts: trying again gives the same answer.
		e.Kind = KindAnalysis
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		e.Kind = KindCanceled
	}
	return e
}

// lineageCommand is a command report as the exporter takes it.
func lineageCommand(ctx context.Context, c CommandReport, store archive.Store) lineage.Command {
	lc := lineage.Command{
		ID: string(c.ID), Command: c.Command, Status: c.Status, ReturnCode: c.ReturnCode,
		Start: lineage.ParseTime(c.Start), End: lineage.ParseTime(c.End), Analysis: c.Analysis,
	}
	if c.Failed() && c.Logs != nil {
		tail := func(f *LogFile) string {
			if f == nil || f.Path == "" {
				return ""
			}
			r, err := openStored(ctx, store, f.Path, f.Compression)
			if err != nil {
				return ""
			}
			defer r.Close()
			s, _ := lineage.Tail(r, lineage.MaxErrorMessage)
			return s
		}
		lc.StderrTail, lc.StdoutTail = tail(c.Logs.Stderr), tail(c.Logs.Stdout)
	}
	open := func(a *ArtifactReport) artifacts.Opener {
		return func(ctx context.Context) (io.ReadCloser, error) {
			return openStored(ctx, store, a.Location, a.Compression)
		}
	}
	var manifest, results *ArtifactReport
	for i := range c.Artifacts {
		a := &c.Artifacts[i]
		if a.Error != nil || a.Location == "" {
			continue
		}
		switch path.Base(a.Path) {
		case "manifest.json":
			if manifest == nil || a.Path == "target/manifest.json" {
				manifest = a
			}
		case "run_results.json":
			if results == nil || a.Path == "target/run_results.json" {
				results = a
			}
		}
	}
	analysisFailed := false
	for _, e := range c.Errors {
		analysisFailed = analysisFailed || e.Stage == StageAnalysis
	}
	// Artifacts the analysis could not read are already reported; reading
	// them again would only say so twice.
	if manifest != nil && results != nil && !analysisFailed {
		lc.Manifest, lc.RunResults = open(manifest), open(results)
	}
	return lc
}

// openStored reads the content of key as the report recorded it stored:
// as is, or compressed under its .zst key (decompressed as it is read). The
// record decides, so a bucket is not asked for a key that is not there.
func openStored(ctx context.Context, store archive.Store, key, compression string) (io.ReadCloser, error) {
	stored, err := archive.StoredKey(key, compression)
	if err != nil {
		return nil, err
	}
	r, err := store.Open(ctx, stored)
	if err != nil || compression == "" {
		return r, err
	}
	d, err := archive.NewZstdReader(r)
	if err != nil {
		r.Close()
		return nil, err
	}
	return d, nil
}

// lineage exports the run's events after its commands are done, adding the
// errors to the commands' and the run's.
func (r *runner) lineage(ctx context.Context, rep *Report) {
	for _, e := range ExportLineage(ctx, r.opts.Lineage, rep, r.store) {
		r.log.Warn("lineage error", "command", e.CommandID, "kind", e.Kind, "error", e.Message)
		if e.CommandID == "" {
			r.errs = append(r.errs, e)
			continue
		}
		for i := range rep.Commands {
			if rep.Commands[i].ID == e.CommandID {
				rep.Commands[i].Errors = append(rep.Commands[i].Errors, e)
			}
		}
	}
}

// archiveComplete reports whether errs leave the archive complete: every
// error is of stage lineage (events not delivered, which the archive does
// not depend on).
func archiveComplete(errs []ItemError) bool {
	for _, e := range errs {
		if e.Stage != StageLineage {
			return false
		}
	}
	return true
}
