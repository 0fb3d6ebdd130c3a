package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/node"
)

func nodeAttestationsCmd() *cobra.Command {
	var hc hubConn
	var org, task string
	var asJSON bool
	c := &cobra.Command{
		Use:   "attestations CID",
		Short: "List the evaluation attestations of a release",
		Long: `List what the member orgs attested of a release, oldest first: task,
metric and value, each a claim by the org that signed it, with its log entry.
To check them offline, pull the release and run 'potluck verify' on it.`,
		Example: `  potluck node attestations bafybei... --hub 127.0.0.1:7420
  potluck node attestations bafybei... --hub 127.0.0.1:7420 --org lab-a --task mmlu --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := hc.dial()
			if err != nil {
				return err
			}
			defer client.Close()
			as, err := client.Attestations(cmd.Context(), args[0], org, task)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), struct {
					Attestations []*potluck.Attestation `json:"attestations"`
				}{as})
			}
			for _, a := range as {
				fmt.Fprintf(cmd.OutOrStdout(), "%s%s\n", claimLine(a), logEntry(a))
			}
			return nil
		},
	}
	hubFlag(c, &hc)
	c.Flags().StringVar(&org, "org", "", "only this org's")
	c.Flags().StringVar(&task, "task", "", "only this task's")
	jsonFlag(c, &asJSON)
	return c
}

// printPulledAttestations says which attestations a pull kept.
func printPulledAttestations(w io.Writer, p *node.Pulled) {
	for _, a := range p.Attestations {
		fmt.Fprintf(w, "  kept attestation: %s%s\n", claimLine(a), logEntry(a))
	}
	for _, a := range p.Untrusted {
		fmt.Fprintf(w, "  left out attestation by %s (key %s): signed by a key you do not trust\n", a.Org, a.KeyHint)
	}
}
