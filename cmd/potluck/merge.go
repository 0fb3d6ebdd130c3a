package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/potluck-hub/potluck/merge"
	"github.com/potluck-hub/potluck/node"
	"github.com/potluck-hub/potluck/signing"
	"github.com/potluck-hub/potluck/store"
)

func mergeCmd() *cobra.Command {
	var out, cache string
	var hc hubConn
	var trust []string
	var workers int
	var shardSize int64
	c := &cobra.Command{
		Use:   "merge RECIPE --out DIR",
		Short: "Run a merge recipe locally (inputs from directories, or pulled from a hub)",
		Long: `Run a mergekit-style recipe. base_model is a model directory; each
models[].model is a delta directory (from 'potluck node publish --out' or
'potluck node pull'), a PEFT LoRA adapter directory, a full fine-tuned model
directory, or the base itself. With --hub they are CIDs instead: each is
pulled into the cache, every byte and signature checked, then merged here.

Methods: linear, task_arithmetic, ties, dare_linear, dare_ties, breadcrumbs,
breadcrumbs_ties, della, della_linear, model_stock, slerp, fedavg, median,
trimmed_mean, krum; a clip parameter (norm bound per delta) on every one.
Parameters may be set at top level or per model, with mergekit's filters and
gradients over layers.

The output is a model directory: shards of at most --shard-size bytes with
model.safetensors.index.json, the base's config and tokenizer files, and a
manifest recording every input by CID. The bytes are the same for any
--workers, and the same merge on a hub gives the same CID.`,
		Example: `  cat > recipe.yaml <<EOF
  merge_method: dare_ties
  base_model: ./base
  parameters: {density: 0.5}
  models:
    - model: ./delta-a
      parameters: {weight: [0.2, 0.8]}   # a gradient over the layers
    - model: ./lora-b
      parameters: {weight: 0.5}
  seed: 7
  EOF
  potluck merge recipe.yaml --out ./merged --workers 4`,
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
			recipe.PinMaskScheme() // a new merge: the latest random masks, recorded

			var resolve merge.Resolver
			if hc.addr != "" {
				client, err := hc.dial()
				if err != nil {
					return err
				}
				defer client.Close()
				keys, err := trustedKeys(cmd, trust, client)
				if err != nil {
					return err
				}
				resolve = pullInto(client, cache, keys)
			}
			job, err := merge.Open(cmd.Context(), recipe, resolve)
			if err != nil {
				return err
			}
			defer job.Close()
			job.Workers, job.ShardSize = workers, shardSize
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
	c.Flags().IntVar(&workers, "workers", min(runtime.NumCPU(), 8), "goroutines merging tensors, and segments of a large tensor, at a time (the output is the same for any count)")
	c.Flags().Int64Var(&shardSize, "shard-size", merge.DefaultShardSize, "largest output shard, in bytes")
	hc.register(c, "", "hub gRPC address: the recipe names CIDs, pulled and checked before the merge")
	c.Flags().StringVar(&cache, "cache", defaultCacheDir(), "where --hub keeps pulled releases, one directory per CID")
	c.Flags().StringSliceVar(&trust, "trust", nil, "with --hub: trusted public key (repeatable; default: the hub's and its members')")
	c.MarkFlagRequired("out")
	return c
}

// pullInto resolves a CID to cache/CID, pulling it there (every file and
// the signature checked) unless an earlier pull left it; merge.Open then
// recomputes the directory's CID, so a cached copy altered since is refused.
func pullInto(client *node.Client, cache string, keys []*signing.PublicKey) merge.Resolver {
	return func(ctx context.Context, cid string) (string, error) {
		dir := filepath.Join(cache, cid)
		if _, err := os.Stat(dir); err == nil {
			return dir, nil
		}
		if _, err := client.Pull(ctx, cid, dir, keys, nil); err != nil {
			return "", err
		}
		return dir, nil
	}
}

func defaultCacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "potluck", "releases")
	}
	return filepath.Join(os.TempDir(), "potluck-releases")
}
