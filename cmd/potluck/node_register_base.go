package main

import (
	"github.com/spf13/cobra"
)

func nodeRegisterBaseCmd() *cobra.Command {
	var hc hubConn
	var keyPath string
	var quiet, asJSON bool
	var resume string
	c := &cobra.Command{
		Use:   "register-base DIR",
		Short: "Upload an open base model so members can publish deltas of it",
		Long: `Sign a base model directory (signature kept in memory: the directory is
not changed) and upload it. Its CID is what 'ipfs add -r --cid-version=1 DIR'
gives, so anyone can check it with IPFS tools.

The hub is asked first whether the key may publish now, and, once the CID is
computed, whether it already holds the base: if it does, nothing is sent.`,
		Example: `  potluck node register-base ./Llama-3-8B --hub 127.0.0.1:7420 --key lab-a.key`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			signer, err := loadSigner(cmd, keyPath)
			if err != nil {
				return err
			}
			client, err := hc.dial()
			if err != nil {
				return err
			}
			defer client.Close()
			p, err := client.PublishBase(cmd.Context(), signer, args[0], uploadOptions(cmd, resume, quiet || asJSON))
			if err != nil {
				return err
			}
			return printPublication(cmd, p, asJSON)
		},
	}
	hubFlag(c, &hc)
	c.Flags().StringVar(&keyPath, "key", "potluck.key", "your signing key")
	c.Flags().BoolVar(&quiet, "quiet", false, "print only the CID")
	jsonFlag(c, &asJSON)
	resumeFlag(c, &resume)
	return c
}
