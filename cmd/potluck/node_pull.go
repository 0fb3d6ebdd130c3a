package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/potluck-hub/potluck/node"
)

func nodePullCmd() *cobra.Command {
	var hc hubConn
	var out string
	var trust []string
	var quiet, asJSON bool
	c := &cobra.Command{
		Use:   "pull CID --out DIR",
		Short: "Fetch a release and check every byte before it appears",
		Long: `Fetch a release into a new directory. Every file is checked against its
SHA-256 and CID, the root CID against the one asked for, and the signature
against trusted keys (--trust, or else the hub's key and its members' keys),
before the directory appears. The signature is written to DIR/model.sig, the
log receipt to DIR/.potluck/receipt.json, and the release's evaluation
attestations, each checked (signature by a trusted key, about this release,
log receipt), to DIR/.potluck/attestations/; those signed by keys not trusted
are left out. The numbers are claims by the orgs that signed them. A release
its publisher or an operator yanked is still pulled, with a warning giving
the reason; DIR/.potluck/yank.json records the yank.`,
		Example: `  potluck node pull bafybei... --out ./merged --hub 127.0.0.1:7420
  potluck node pull bafybei... --out ./merged --hub 127.0.0.1:7420 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := hc.dial()
			if err != nil {
				return err
			}
			defer client.Close()
			keys, err := trustedKeys(cmd, trust, client)
			if err != nil {
				return err
			}
			p, err := client.Pull(cmd.Context(), args[0], out, keys, progressTo(cmd.ErrOrStderr(), "received", quiet || asJSON))
			if err != nil {
				return err
			}
			if y := p.Release.Yank; y != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: release %s was yanked %s; recorded in %s\n",
					p.Release.CID, yankText(y), filepath.Join(out, filepath.FromSlash(node.YankFile)))
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), pullJSON{Dir: out, Release: releaseJSON(p.Release), KeyHint: p.Signed.Key.Hint(),
					Attestations: p.Attestations, Untrusted: p.Untrusted})
			}
			if !quiet {
				fmt.Fprintf(cmd.ErrOrStderr(), "pulled %s (%d files) signed by %s (key %s)\n",
					p.Release.CID, len(p.Release.Files), p.Release.Publisher, p.Signed.Key.Hint())
				printPulledAttestations(cmd.ErrOrStderr(), p)
			}
			fmt.Fprintln(cmd.OutOrStdout(), out)
			return nil
		},
	}
	hubFlag(c, &hc)
	c.Flags().StringVar(&out, "out", "", "new directory to write (required)")
	c.Flags().StringSliceVar(&trust, "trust", nil, "trusted public key (repeatable; default: the hub's and its members')")
	c.Flags().BoolVar(&quiet, "quiet", false, "print only the directory")
	jsonFlag(c, &asJSON)
	c.MarkFlagRequired("out")
	return c
}
