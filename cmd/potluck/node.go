package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/potluck-hub/potluck/node"
	"github.com/potluck-hub/potluck/signing"
)

func nodeCmd() *cobra.Command {
	c := &cobra.Command{Use: "node", Short: "A lab's commands: keys, publishing, pulling"}
	c.AddCommand(nodeKeygenCmd(), nodeRegisterBaseCmd(), nodePublishCmd(), nodePullCmd(), nodeMergeCmd())
	return c
}

// progressTo prints upload/download progress as plain lines, at most one
// per 10%, unless quiet.
func progressTo(w io.Writer, verb string, quiet bool) node.Progress {
	if quiet {
		return nil
	}
	last := int64(-1)
	return func(done, total int64) {
		if total == 0 {
			return
		}
		pct := done * 100 / total
		if pct/10 != last/10 || done == total && last != 100 {
			fmt.Fprintf(w, "  %s %d/%d bytes (%d%%)\n", verb, done, total, pct)
			last = pct
		}
	}
}

// trustedKeys loads --trust keys, or, if none were given, takes the hub's
// own key and its members' keys from the hub.
func trustedKeys(cmd *cobra.Command, paths []string, client *node.Client) ([]*signing.PublicKey, error) {
	if len(paths) == 0 {
		info, err := client.Info(cmd.Context())
		if err != nil {
			return nil, err
		}
		return info.TrustedKeys(), nil
	}
	var keys []*signing.PublicKey
	for _, p := range paths {
		k, err := signing.LoadPublicKey(p)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}
