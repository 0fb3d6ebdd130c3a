package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/potluck-hub/potluck/internal/demo"
)

func demoCmd() *cobra.Command {
	var dir string
	c := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole path on this machine: hub, two labs, publish, merge, pull, verify",
		Long: `Start a hub on loopback with embedded storage, generate a small base model
and two fine-tunes (safetensors, bf16 and f32), register the base, publish
both deltas from two labs with two keys, merge them on the hub (task
arithmetic), pull the merge and verify every signature and digest, then
reproduce the merge locally and compare CIDs. Then a second round built
on the merge: each lab trains from the merge it pulled and publishes a
delta against it, the hub merges those over the merge, an auditor
recomputes that merge, and lab-b rebuilds lab-a's fine-tune byte for byte
(node apply). Everything goes in --dir (default: a temporary folder,
removed afterwards).`,
		Example: `  potluck demo
  potluck demo --dir ./potluck-demo   # keep everything to look at`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				tmp, err := os.MkdirTemp("", "potluck-demo-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(tmp)
				dir = tmp
			} else if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			_, err := demo.Run(cmd.Context(), cmd.OutOrStdout(), dir)
			if err != nil {
				return fmt.Errorf("demo: %w", err)
			}
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "keep the demo's files in this folder")
	return c
}
