package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func logCmd() *cobra.Command {
	c := &cobra.Command{Use: "log", Short: "Audit a hub's transparency log"}
	c.AddCommand(logVerifyCmd())
	return c
}

func logVerifyCmd() *cobra.Command {
	var hc hubConn
	var state, logKey string
	var attestations bool
	c := &cobra.Command{
		Use:   "verify --hub ADDR --state FILE",
		Short: "Check that a hub's log only grew since the checkpoint remembered in FILE",
		Long: `Fetch the hub's newest log checkpoint, check its signature with the log
key remembered in --state (on the first run: --log-key, or the key the hub
names, which is then remembered), prove it consistent with the remembered
checkpoint, and remember it. A hub that rewrote, forked or shrank its log is
reported as such, with exit status 1, and the state is left unchanged.

With --attestations it then reads every entry of the new checkpoint's tree
(proving they are exactly that tree) and checks each evaluation attestation
from the log alone: its bundle's signature with the key the key entries
before it say was that org's and valid at the entry's time, the entry's
fields against the signed claim, and that the release it is about was
logged earlier.`,
		Example: `  potluck log verify --hub 127.0.0.1:7420 --state hub-log.json
  potluck log verify --hub hub.example:7420 --state hub-log.json --log-key "potluck-hub+1a2b3c4d+AbC..."
  potluck log verify --hub 127.0.0.1:7420 --state hub-log.json --attestations`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logKey, err := readLogKey(logKey)
			if err != nil {
				return err
			}
			client, err := hc.dial()
			if err != nil {
				return err
			}
			defer client.Close()
			check, err := client.VerifyLog(cmd.Context(), state, logKey)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			switch {
			case check.Old == nil:
				fmt.Fprintf(w, "ok  first checkpoint: %d entries, root %x; remembered in %s\n", check.New.Size, check.New.Hash[:], state)
			case check.Old.Size == check.New.Size:
				fmt.Fprintf(w, "ok  the log is unchanged: %d entries, root %x\n", check.New.Size, check.New.Hash[:])
			default:
				fmt.Fprintf(w, "ok  the log grew from %d to %d entries, consistently; root %x\n", check.Old.Size, check.New.Size, check.New.Hash[:])
			}
			if !attestations {
				return nil
			}
			as, err := client.AuditAttestations(cmd.Context(), check.New)
			if err != nil {
				return err
			}
			for _, a := range as {
				e := a.Entry
				fmt.Fprintf(w, "ok  entry %d: %s %s %v on %s, claimed by %s, signed by its key %s\n", a.Index, e.Claim.Task, e.Claim.Metric, e.Claim.Value, e.Release, e.Org, e.Key)
			}
			fmt.Fprintf(w, "ok  %d attestations, each checked from the log alone\n", len(as))
			return nil
		},
	}
	hubFlag(c, &hc)
	c.Flags().StringVar(&state, "state", "", "file remembering the last checkpoint (required)")
	c.Flags().StringVar(&logKey, "log-key", "", "the hub's log verifier key, or a file holding it (DATA/log.pub), pinned on the first run")
	c.Flags().BoolVar(&attestations, "attestations", false, "also check every evaluation attestation from the log alone")
	c.MarkFlagRequired("state")
	return c
}
