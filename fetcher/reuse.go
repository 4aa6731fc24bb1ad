package fetcher

import (
	"bytes"
	"context"

	"github.com/boltfetch/boltfetch/archive"
	"github.com/boltfetch/boltfetch/artifacts"
)

// maxReportSize caps the previous report.json read back to reuse an
// analysis.
const maxReportSize = 64 << 20

// archivePayload writes payload.json: redacted (RedactPayload) unless
// Options.RawPayload. A payload that cannot be redacted is not archived,
// rather than archived with its token.
func (r *runner) archivePayload(ctx context.Context, raw []byte) {
	data := raw
	if !r.opts.RawPayload {
		red, err := RedactPayload(raw)
		if err != nil {
			r.runErr(ItemError{Stage: StageArchive, Kind: KindArchive, Message: "payload.json not archived: its api_url token could not be redacted: " + err.Error()})
			return
		}
		data = red
	}
	if _, err := archive.WriteFile(ctx, r.store, r.folder+"/payload.json", data); err != nil {
		r.runErr(ItemError{Stage: StageArchive, Kind: KindArchive, Message: "payload.json: " + err.Error()})
	}
}

// previousAnalysis returns the analysis the run's previous report.json holds
// for this command, when that report was written in this report version (so
// the analysis has today's format) from exactly the manifest and
// run_results now archived (same paths, sizes and SHA-256). Both files are
// then not read at all. Otherwise it returns nil and the caller analyses.
func (r *runner) previousAnalysis(ctx context.Context, cs *cmdState, m, rr ArtifactReport) *artifacts.Analysis {
	r.prevOnce.Do(func() {
		data, err := archive.ReadFile(ctx, r.store, r.folder+"/report.json", maxReportSize)
		if err != nil {
			return
		}
		rep, err := DecodeReport(bytes.NewReader(data))
		if err != nil || rep.ReportVersion != ReportVersion {
			return
		}
		r.prevReport = rep
	})
	if r.prevReport == nil {
		return nil
	}
	same := func(prev []ArtifactReport, a ArtifactReport) bool {
		for _, p := range prev {
			if p.Path == a.Path && p.Error == nil && p.Bytes == a.Bytes && p.SHA256 == a.SHA256 {
				return true
			}
		}
		return false
	}
	for _, c := range r.prevReport.Commands {
		if c.ID != cs.rep.ID || c.Analysis == nil {
			continue
		}
		if same(c.Artifacts, m) && same(c.Artifacts, rr) {
			r.log.Debug("analysis reused from the previous report", "command", cs.rep.ID)
			return c.Analysis
		}
	}
	return nil
}
