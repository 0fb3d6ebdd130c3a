package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/potluck-hub/potluck/store"
)

func cidCmd() *cobra.Command {
	var recursive bool
	c := &cobra.Command{
		Use:   "cid PATH",
		Short: "Print the CID 'ipfs add --cid-version=1' gives a file (-r: a directory)",
		Long: `Print the CID that 'ipfs add --cid-version=1 PATH' (with -r,
'ipfs add -r --cid-version=1 PATH') prints, storing nothing: 256 KiB chunks,
raw leaves, a balanced DAG of 174 links; hidden files skipped as kubo does.`,
		Example: `  potluck cid model.safetensors
  potluck cid -r ./my-model`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := os.Stat(args[0])
			if err != nil {
				return err
			}
			if st.IsDir() {
				if !recursive {
					return fmt.Errorf("%s is a directory (use -r)", args[0])
				}
				c, err := store.HashDir(args[0])
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), c)
				return nil
			}
			info, err := store.HashFileAt(args[0])
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), info.CID)
			return nil
		},
	}
	c.Flags().BoolVarP(&recursive, "recursive", "r", false, "add a directory recursively")
	return c
}
