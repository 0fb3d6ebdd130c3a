package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/node"
)

// printYank says whether release cid is yanked: online, from the hub's
// record now, when there is a hub to ask; offline, from what the directory
// recorded when it was pulled. A yank is reported, not failed: the bytes
// still check out, and audits of a yanked release still work.
func printYank(cmd *cobra.Command, indent, cid string, recorded *potluck.Yank, client *node.Client) error {
	w := cmd.OutOrStdout()
	if client == nil || cid == "" {
		const offline = "offline: give --hub to check the hub's record now"
		if recorded != nil {
			fmt.Fprintf(w, "%swarn  yanked %s (recorded when pulled; %s)\n", indent, yankText(recorded), offline)
		} else {
			fmt.Fprintf(w, "%sok  not yanked when pulled (%s)\n", indent, offline)
		}
		return nil
	}
	r, err := client.Release(cmd.Context(), cid)
	if status.Code(err) == codes.NotFound {
		fmt.Fprintf(w, "%s--  the hub holds no release %s: not checked for a yank\n", indent, cid)
		return nil
	}
	if err != nil {
		return err
	}
	if r.Yank != nil {
		fmt.Fprintf(w, "%swarn  yanked %s (the hub's record, checked online now)\n", indent, yankText(r.Yank))
	} else {
		fmt.Fprintf(w, "%sok  not yanked (the hub's record, checked online now)\n", indent)
	}
	return nil
}
