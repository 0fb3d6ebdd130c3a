package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func nodeMergeCmd() *cobra.Command {
	var hc hubConn
	wait := true
	c := &cobra.Command{
		Use:   "merge RECIPE",
		Short: "Ask the hub to run a merge recipe over releases it holds",
		Long: `Send a recipe (mergekit's YAML, with CIDs for base_model and each model)
to the hub, which computes the merge, signs it with its key and stores it.
Prints the merged release's CID; fetch it with 'potluck node pull'.

The hub runs merges as jobs in a bounded worker pool. With --wait=false
the command prints the job's id at once; follow it with 'potluck node job'.
A recipe the hub has merged before returns the earlier release at once.`,
		Example: `  cat > recipe.yaml <<EOF
  merge_method: task_arithmetic
  base_model: bafybei...base
  models:
    - model: bafybei...delta-a
      parameters: {weight: 1.0}
  EOF
  potluck node merge recipe.yaml --hub 127.0.0.1:7420
  potluck node merge recipe.yaml --hub 127.0.0.1:7420 --wait=false   # prints job-...`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			recipe, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			client, err := hc.dial()
			if err != nil {
				return err
			}
			defer client.Close()
			if !wait {
				job, err := client.StartMerge(cmd.Context(), recipe)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), job.ID)
				return nil
			}
			rel, err := client.Merge(cmd.Context(), recipe)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), rel.CID)
			return nil
		},
	}
	c.Flags().BoolVar(&wait, "wait", true, "wait for the merge and print its CID; false: print the job id at once")
	hubFlag(c, &hc)
	return c
}
