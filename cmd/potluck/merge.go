package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/potluck-hub/potluck/merge"
	"github.com/potluck-hub/potluck/store"
)

func mergeCmd() *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "merge RECIPE --out DIR",
		Short: "Run a merge recipe locally, no hub needed",
		Long: `Run a mergekit-style recipe over local directories: base_model is a model
directory, each models[].model a delta directory (from 'potluck node publish
--out' or 'potluck node pull'). Methods: task_arithmetic (θ₀ + λ Σ wᵢ δᵢ) and
linear (Σ wᵢ θᵢ / Σ wᵢ). The output is a model directory laid out like the
base, with a manifest recording every input by CID: the same merge on a hub
gives the same bytes and the same CID.`,
		Example: `  cat > recipe.yaml <<EOF
  merge_method: task_arithmetic
  base_model: ./base
  parameters: {lambda: 1.0}
  models:
    - model: ./delta-a
      parameters: {weight: 0.5}
    - model: ./delta-b
      parameters: {weight: 0.5}
  EOF
  potluck merge recipe.yaml --out ./merged`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			recipe, err := merge.ParseRecipe(b)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			job, err := merge.OpenLocal(recipe)
			if err != nil {
				return err
			}
			defer job.Close()
			if _, err := merge.Run(cmd.Context(), job, out); err != nil {
				return err
			}
			root, err := store.HashDir(out)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\n", root, out)
			return nil
		},
	}
	c.Flags().StringVar(&out, "out", "", "new output directory (required)")
	c.MarkFlagRequired("out")
	return c
}
