package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/potluck-hub/potluck/node"
	"github.com/potluck-hub/potluck/signing"
)

func verifyCmd() *cobra.Command {
	var hubAddr string
	var keys []string
	c := &cobra.Command{
		Use:   "verify DIR|CID",
		Short: "Check a release's signature and every file's digest",
		Long: `Verify a release directory offline (DIR/model.sig against --key keys, or
the hub's keys with --hub), or a release on a hub by CID (fetched to a
temporary directory and checked byte by byte). Checks: the signature is by a
trusted key over exactly the directory's files; each file's SHA-256; for a
delta or merge, the manifest's sizes, digests and CIDs. Exit status 0 only
if every check holds.`,
		Example: `  potluck verify ./merged --key hub.pub
  potluck verify bafybei... --hub 127.0.0.1:7420`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			target := args[0]
			var client *node.Client
			if hubAddr != "" {
				var err error
				if client, err = node.Dial(hubAddr); err != nil {
					return err
				}
				defer client.Close()
			}
			if len(keys) == 0 && client == nil {
				return fmt.Errorf("give trusted keys with --key, or --hub to trust the hub's")
			}
			trusted, err := trustedKeys(cmd, keys, client)
			if err != nil {
				return err
			}
			dir := target
			if st, err := os.Stat(target); err != nil || !st.IsDir() {
				if client == nil {
					return fmt.Errorf("%s is not a directory; to verify a CID give --hub", target)
				}
				tmp, err := os.MkdirTemp("", "potluck-verify-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(tmp)
				dir = filepath.Join(tmp, "release")
				if _, err := client.Pull(cmd.Context(), target, dir, trusted, nil); err != nil {
					return err
				}
			}
			return printVerify(cmd, dir, trusted)
		},
	}
	c.Flags().StringVar(&hubAddr, "hub", "", "hub gRPC address (to verify a CID, or to trust the hub's keys)")
	c.Flags().StringSliceVar(&keys, "key", nil, "trusted public key PEM (repeatable)")
	return c
}

func printVerify(cmd *cobra.Command, dir string, trusted []*signing.PublicKey) error {
	rep, err := node.VerifyDir(dir, trusted)
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "ok  signature by key %s over %d files\n", rep.Signed.Key.Hint(), len(rep.Signed.Resources))
	fmt.Fprintf(w, "ok  every file's sha256\n")
	if rep.Manifest != nil {
		fmt.Fprintf(w, "ok  manifest: %s of base %s, %d files, %d tensors\n", rep.Manifest.Kind, rep.Manifest.Base, len(rep.Manifest.Files), len(rep.Manifest.Tensors))
	}
	fmt.Fprintf(w, "cid %s\n", rep.CID)
	return nil
}
