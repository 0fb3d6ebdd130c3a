package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/potluck-hub/potluck/hub"
)

func hubTokenCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "token",
		Short: "Make a bearer token for a member org",
		Long: `Print a fresh random token on stdout and, on stderr, the line to add to the
org's tokens in the members file. The hub keeps only the hash: give the token
to the org (it sets $POTLUCK_TOKEN or --token-file) and do not store it.`,
		Example: `  potluck hub token > lab-a.token   # stderr: "  - sha256:…" for members.yaml`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tok, err := hub.NewToken()
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), tok)
			fmt.Fprintf(cmd.ErrOrStderr(), "add under the org's tokens: in the members file:\n      - %s\n", hub.HashToken(tok))
			return nil
		},
	}
}
