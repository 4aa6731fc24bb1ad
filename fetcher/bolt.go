package fetcher

import (
	"context"
	"fmt"
	"strings"

	"github.com/boltfetch/boltfetch/client"
)

// clientBolt adapts a *client.Client bound to the payload's api_url.
type clientBolt struct{ c *client.Client }

// commandOutput runs the api_query. When boltCommand's stdout comes back
// empty (Paradime leaves it empty for long outputs), it falls back to the
// paged boltCommandLogs and rebuilds both streams from its lines.
func (b clientBolt) commandOutput(ctx context.Context, document string, id int64) (string, string, string, error) {
	cmd, err := b.c.PayloadCommand(ctx, document, id)
	if err != nil {
		return "", "", "", err
	}
	if cmd.Stdout != "" {
		return cmd.Stdout, cmd.Stderr, "api_query", nil
	}
	lines, err := b.c.CommandLogs(ctx, id)
	if err != nil {
		return "", "", "", fmt.Errorf("boltCommand returned no stdout, and the boltCommandLogs fallback failed: %w", err)
	}
	if len(lines) == 0 {
		return cmd.Stdout, cmd.Stderr, "api_query", nil
	}
	var out, errs strings.Builder
	for _, l := range lines {
		dst := &out
		if strings.EqualFold(l.Stream, "STDERR") {
			dst = &errs
		}
		dst.WriteString(l.Line)
		if !strings.HasSuffix(l.Line, "\n") {
			dst.WriteByte('\n')
		}
	}
	stderr := errs.String()
	if stderr == "" {
		stderr = cmd.Stderr
	}
	return out.String(), stderr, "command_logs", nil
}

func (b clientBolt) resourceURL(ctx context.Context, document string, id int64) (string, error) {
	return b.c.PayloadResourceURL(ctx, document, id)
}
