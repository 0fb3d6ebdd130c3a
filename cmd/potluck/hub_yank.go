package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

func hubYankCmd() *cobra.Command {
	var hc hubConn
	var reason string
	c := &cobra.Command{
		Use:   "yank CID --reason REASON",
		Short: "Withdraw a release: logged, hidden from listings, still fetchable by CID",
		Long: `Withdraw a release on the hub, saying why. Its publisher org or an operator
may (the token says who calls; a merge, which the hub published, only an
operator). The hub logs the yank (who, when, why) in its
transparency log and records it with the release; listings leave the release
out unless asked (potluck releases --yanked), while its bytes stay fetchable
by CID so audits still work, and pull, show and verify flag it. Prints the
yank and the releases built on the yanked one, directly or not: they are
affected. A release is yanked once; an operator may then free its bytes with
'potluck store unpin' once nothing is built on it.`,
		Example: `  potluck hub yank bafybei... --reason "trained on the eval set by mistake" --hub hub.example.org:7420 --token-file lab-a.token`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := hc.dial()
			if err != nil {
				return err
			}
			defer client.Close()
			r, affected, err := client.Yank(cmd.Context(), args[0], reason)
			if err != nil {
				return err
			}
			y := r.Yank
			if y == nil {
				return fmt.Errorf("yank %s: the hub answered with a release that is not yanked", args[0])
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "yanked %s by %s at %s (log entry %d): %s\n", r.CID, y.Org, y.Time.UTC().Format(time.RFC3339), y.LogIndex, y.Reason)
			fmt.Fprintf(out, "affected, built on it: %d\n", len(affected))
			for _, a := range affected {
				fmt.Fprintf(out, "  %s\n", a)
			}
			return nil
		},
	}
	c.Flags().StringVar(&reason, "reason", "", "why the release is withdrawn, one line (required)")
	c.MarkFlagRequired("reason")
	hubFlag(c, &hc)
	return c
}
