package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/node"
)

func nodeApplyCmd() *cobra.Command {
	var hc hubConn
	var base, out string
	var quiet bool
	c := &cobra.Command{
		Use:   "apply DELTA [--base BASE] --out DIR",
		Short: "Rebuild the fine-tuned model a delta was made from",
		Long: `Add a delta to its base and write the fine-tuned model it was made from
to a new directory, laid out as it was: its shards with their headers, its
index, config and tokenizer. DELTA and BASE are release directories or CIDs
(pulled from the hub into the cache and checked, as 'node publish --base'
does); BASE defaults to the base the delta's manifest names.

How exact: bit for bit where the delta holds finetuned − base exactly:
every element of a delta published with --exact (a −0 comes back +0).
A delta in the weights' own dtype (the default) gives each value within
one ulp of the larger of the fine-tune's value and the delta's.`,
		Example: `  potluck node apply bafybei...delta --out ./lab-c-finetune --hub 127.0.0.1:7420
  potluck node apply ./my-delta --base ./pulled-merge --out ./rebuilt`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			deltaDir, err := releaseDir(cmd, &hc, "DELTA", args[0], quiet)
			if err != nil {
				return err
			}
			if base == "" {
				man, err := potluck.ReadManifest(deltaDir)
				if err != nil {
					return fmt.Errorf("%s is not a delta release: %w", args[0], err)
				}
				base = man.Base
			}
			baseDir, err := releaseDir(cmd, &hc, "--base", base, quiet)
			if err != nil {
				return err
			}
			man, err := node.Apply(cmd.Context(), node.ApplyOptions{DeltaDir: deltaDir, BaseDir: baseDir, OutDir: out})
			if err != nil {
				return err
			}
			if !quiet {
				fmt.Fprintf(cmd.ErrOrStderr(), "applied %d delta tensors to %s\n", len(man.Tensors), man.Base)
			}
			fmt.Fprintln(cmd.OutOrStdout(), out)
			return nil
		},
	}
	hubFlag(c, &hc)
	c.Flags().StringVar(&base, "base", "", "the delta's base, a directory or a CID (default: the one its manifest names)")
	c.Flags().StringVar(&out, "out", "", "new directory to write (required)")
	c.Flags().BoolVar(&quiet, "quiet", false, "print only the directory")
	c.MarkFlagRequired("out")
	return c
}
