package fakebolt

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"strings"
)

// CommandQuery returns the api_query Paradime puts in a completed payload for
// a command, byte for byte in the seed's format.
func CommandQuery(commandID int64) string {
	return fmt.Sprintf("query BoltCommand {\n boltCommand(commandId: %d) {\n command\n startDttm\n endDttm\n stdout\n stderr\n returnCode\n scheduleRunId\n resources {\n id\n path\n }\n }\n}", commandID)
}

// ResourceQuery returns the resource_query Paradime puts in a completed
// payload for an artifact, byte for byte in the seed's format.
func ResourceQuery(resourceID int64) string {
	return fmt.Sprintf("query BoltResourceUrl {\n boltResourceUrl(resourceId: %d) {\n ok\n url\n }\n}", resourceID)
}

// CompletedPayload returns the bolt.run.completed webhook payload for a
// stored run, in the shape of Paradime's published example: api_url is
// APIURL(), each command carries its api_query and each resource its
// resource_query.
func (s *Server) CompletedPayload(runID int64) ([]byte, error) {
	run, ok := s.lookupRun(runID)
	if !ok {
		return nil, fmt.Errorf("fakebolt: completed payload: run %d not added", runID)
	}
	p := s.basePayload(run, run.Status)
	cmds := make([]any, 0, len(run.Commands))
	for _, c := range run.Commands {
		res := make([]any, 0, len(c.Resources))
		for _, r := range c.Resources {
			res = append(res, map[string]any{
				"id":             r.ID,
				"path":           r.Path,
				"resource_query": ResourceQuery(r.ID),
			})
		}
		cmds = append(cmds, map[string]any{
			"api_query":      CommandQuery(c.ID),
			"command":        c.Command,
			"end_dttm":       fmtTime(c.End),
			"id":             c.ID,
			"json_resources": res,
			"return_code":    c.ReturnCode,
			"start_dttm":     fmtTime(c.Start),
			"status":         c.Status,
		})
	}
	p["commands"] = cmds
	p["end_dttm"] = fmtTime(run.End)
	p["error_string"] = optStr(run.ErrorString)
	return encodePayload(p)
}

// StartedPayload returns the bolt.run.started webhook payload for a stored
// run: the completed shape without commands, end time or error.
func (s *Server) StartedPayload(runID int64) ([]byte, error) {
	run, ok := s.lookupRun(runID)
	if !ok {
		return nil, fmt.Errorf("fakebolt: started payload: run %d not added", runID)
	}
	return encodePayload(s.basePayload(run, "running"))
}

func (s *Server) basePayload(run *Run, status string) map[string]any {
	return map[string]any{
		"api_url": s.APIURL(),
		"environment": map[string]any{
			"actor":       cmp.Or(run.Actor, "Manual"),
			"branch":      optStr(run.Branch),
			"commit_hash": optStr(run.CommitHash),
			"email":       optStr(run.ActorEmail),
		},
		"id":      run.ID,
		"run_url": cmp.Or(run.RunURL, fmt.Sprintf("https://app.demo.paradime.io/bolt/run_id/%d", run.ID)),
		"schedule": map[string]any{
			"commands":          scheduleCommands(run),
			"deferred_schedule": nil,
			"email_notify":      nonNil(run.EmailNotify),
			"email_on":          []string{"passed", "failed"},
			"environment":       cmp.Or(run.Environment, "production"),
			"git_branch":        optStr(run.ScheduleBranch),
			"hightouch":         nil,
			"name":              run.ScheduleName,
			"owner_email":       optStr(run.OwnerEmail),
			"schedule":          cmp.Or(run.Cron, "@daily"),
			"slack_notify":      nonNil(run.SlackNotify),
			"slack_on":          []string{"passed", "failed"},
			"turbo_ci":          nil,
		},
		"schedule_name": run.ScheduleName,
		"start_dttm":    fmtTime(run.Start),
		"status":        status,
		"uuid":          run.UUID,
		"workspace": map[string]any{
			"name": run.Workspace.Name,
			"uid":  run.Workspace.UID,
		},
	}
}

// scheduleCommands lists the commands the schedule was configured with: the
// explicit list, else the run's dbt commands other than the "dbt deps" and
// "git clone" Bolt adds itself.
func scheduleCommands(run *Run) []string {
	if len(run.ScheduleCommands) > 0 {
		return run.ScheduleCommands
	}
	out := []string{}
	for _, c := range run.Commands {
		if strings.HasPrefix(c.Command, "dbt ") && !strings.HasPrefix(c.Command, "dbt deps") {
			out = append(out, c.Command)
		}
	}
	return out
}

// encodePayload writes keys sorted and indented like the published examples.
func encodePayload(p map[string]any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(p); err != nil {
		return nil, fmt.Errorf("fakebolt: encode payload: %w", err)
	}
	return buf.Bytes(), nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
