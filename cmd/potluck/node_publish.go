package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/node"
	"github.com/potluck-hub/potluck/safetensors"
	"github.com/potluck-hub/potluck/signing"
)

func nodePublishCmd() *cobra.Command {
	var hc hubConn
	var keyPath, baseDir, ftDir, baseCID, outDir, dtype string
	var quiet, exact bool
	var resume string
	var samples int64
	c := &cobra.Command{
		Use:   "publish --base DIR|CID --finetuned DIR",
		Short: "Compute, sign and publish the delta of a fine-tuned model",
		Long: `Compute finetuned − base tensor by tensor (memory bounded by a chunk,
whatever the model's size), write it with a manifest naming the base by CID
to --out, sign it (--out/model.sig) and upload it. The hub admits it only if
the key is a member's, the base is a base or a merge it holds (not yanked),
and every tensor fits it.

--base is the model you trained from: a directory (one 'node pull' wrote
names the release it holds), or a release's CID, pulled from the hub into
the cache ($POTLUCK_CACHE_DIR/releases, else ~/.cache/potluck/releases),
checked, and reused, checked again, by later runs.

A delta keeps each tensor in its base tensor's dtype (--dtype to choose);
'potluck node apply' then rebuilds the fine-tune within one ulp. --exact
stores it so that apply gives back the fine-tune bit for bit (F32 deltas of
bf16/f16 weights, F64 of f32 weights: twice the default's size) and checks
every element, naming one it cannot hold.`,
		Example: `  potluck node publish --base ./base --finetuned ./my-finetune \
    --out ./my-delta --hub 127.0.0.1:7420 --key lab-a.key
  potluck node publish --base bafybei...merge --finetuned ./trained-from-the-merge --exact \
    --hub 127.0.0.1:7420 --key lab-a.key`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			signer, err := loadSigner(cmd, keyPath)
			if err != nil {
				return err
			}
			if outDir == "" {
				if outDir, err = os.MkdirTemp("", "potluck-delta-"); err != nil {
					return err
				}
				os.Remove(outDir)
				defer os.RemoveAll(outDir)
			}
			dt := safetensors.DType(strings.ToUpper(dtype))
			if dtype != "" && !dt.IsFloat() {
				return fmt.Errorf("--dtype %q: want F64, F32, BF16 or F16", dtype)
			}
			base, err := releaseDir(cmd, &hc, "--base", baseDir, quiet)
			if err != nil {
				return err
			}
			if base != baseDir && baseCID == "" {
				baseCID = baseDir // a CID, pulled and checked
			}
			man, err := node.MakeDelta(cmd.Context(), node.DeltaOptions{
				BaseDir: base, FinetunedDir: ftDir, OutDir: outDir, BaseCID: baseCID, DType: dt, Samples: samples, Exact: exact,
			})
			if err != nil {
				return err
			}
			return publishDelta(cmd, &hc, outDir, man, signer, uploadOptions(cmd, resume, quiet), quiet)
		},
	}
	hubFlag(c, &hc)
	c.Flags().StringVar(&keyPath, "key", "potluck.key", "your signing key")
	c.Flags().StringVar(&baseDir, "base", "", "the model you trained from, a base or a merge: its directory or its CID (required)")
	c.Flags().StringVar(&ftDir, "finetuned", "", "fine-tuned model directory (required)")
	c.Flags().StringVar(&baseCID, "base-cid", "", "the base's CID on the hub (default: computed from --base)")
	c.Flags().StringVar(&outDir, "out", "", "keep the delta in this new directory (default: a temporary one)")
	c.Flags().StringVar(&dtype, "dtype", "", "delta dtype: F64, F32, BF16 or F16 (default: each base tensor's)")
	c.Flags().BoolVar(&exact, "exact", false, "store the delta so that 'node apply' gives back the fine-tune bit for bit (F32 for bf16/f16 weights, F64 for f32)")
	c.Flags().Int64Var(&samples, "samples", 0, "training examples behind this delta, recorded for fedavg merges")
	c.Flags().BoolVar(&quiet, "quiet", false, "print only the CID")
	resumeFlag(c, &resume)
	c.MarkFlagRequired("base")
	c.MarkFlagRequired("finetuned")
	return c
}

func publishDelta(cmd *cobra.Command, hc *hubConn, dir string, man *potluck.Manifest, signer *signing.Signer, opts node.UploadOptions, quiet bool) error {
	scan, bundle, err := node.SignDir(dir, signer)
	if err != nil {
		return err
	}
	client, err := hc.dial()
	if err != nil {
		return err
	}
	defer client.Close()
	rel, err := client.Upload(cmd.Context(), potluck.KindDelta, scan, bundle, man.Base, opts)
	if err != nil {
		return err
	}
	if !quiet {
		fmt.Fprintf(cmd.ErrOrStderr(), "published %d tensors, %d bytes, as a delta of %s\n", len(man.Tensors), scan.Size(), man.Base)
	}
	fmt.Fprintln(cmd.OutOrStdout(), rel.CID)
	return nil
}
