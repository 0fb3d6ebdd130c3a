package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/node"
	"github.com/potluck-hub/potluck/store"
)

func nodeRegisterBaseCmd() *cobra.Command {
	var hc hubConn
	var keyPath string
	var quiet bool
	var resume string
	c := &cobra.Command{
		Use:   "register-base DIR",
		Short: "Upload an open base model so members can publish deltas of it",
		Long: `Sign a base model directory (signature kept in memory: the directory is
not changed) and upload it. Its CID is what 'ipfs add -r --cid-version=1 DIR'
gives, so anyone can check it with IPFS tools.`,
		Example: `  potluck node register-base ./Llama-3-8B --hub 127.0.0.1:7420 --key lab-a.key`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			signer, err := loadSigner(cmd, keyPath)
			if err != nil {
				return err
			}
			dir, err := store.ScanDir(args[0])
			if err != nil {
				return err
			}
			bundle, err := node.Bundle(dir, signer)
			if err != nil {
				return err
			}
			client, err := hc.dial()
			if err != nil {
				return err
			}
			defer client.Close()
			rel, err := client.Upload(cmd.Context(), potluck.KindBase, dir, bundle, "", uploadOptions(cmd, resume, quiet))
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), rel.CID)
			return nil
		},
	}
	hubFlag(c, &hc)
	c.Flags().StringVar(&keyPath, "key", "potluck.key", "your signing key")
	c.Flags().BoolVar(&quiet, "quiet", false, "print only the CID")
	resumeFlag(c, &resume)
	return c
}
