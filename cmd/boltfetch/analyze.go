package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// TODO(skeleton): replaced by the issue that builds this command.
func newAnalyzeCmd(io *iostreams, runF func() error) *cobra.Command {
	return &cobra.Command{
		Use:   "analyze",
		Short: "not built yet",
		RunE: func(cmd *cobra.Command, args []string) error {
			return withCode(exitBadInput, errors.New("analyze is not built yet"))
		},
	}
}
