package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/node"
	"github.com/potluck-hub/potluck/safetensors"
	"github.com/potluck-hub/potluck/signing"
)

func nodePublishCmd() *cobra.Command {
	var hc hubConn
	var keyPath, baseDir, ftDir, baseCID, outDir, dtype string
	var quiet bool
	var resume string
	var samples int64
	c := &cobra.Command{
		Use:   "publish --base DIR --finetuned DIR",
		Short: "Compute, sign and publish the delta of a fine-tuned model",
		Long: `Compute finetuned − base tensor by tensor (memory bounded by a chunk,
whatever the model's size), write it with a manifest naming the base by CID
to --out, sign it (--out/model.sig) and upload it. The hub admits it only if
the key is a member's, the base is registered, and every tensor fits it.`,
		Example: `  potluck node publish --base ./base --finetuned ./my-finetune \
    --out ./my-delta --hub 127.0.0.1:7420 --key lab-a.key`,
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
			man, err := node.MakeDelta(cmd.Context(), node.DeltaOptions{
				BaseDir: baseDir, FinetunedDir: ftDir, OutDir: outDir, BaseCID: baseCID, DType: safetensors.DType(dtype), Samples: samples,
			})
			if err != nil {
				return err
			}
			return publishDelta(cmd, &hc, outDir, man, signer, uploadOptions(cmd, resume, quiet), quiet)
		},
	}
	hubFlag(c, &hc)
	c.Flags().StringVar(&keyPath, "key", "potluck.key", "your signing key")
	c.Flags().StringVar(&baseDir, "base", "", "base model directory (required)")
	c.Flags().StringVar(&ftDir, "finetuned", "", "fine-tuned model directory (required)")
	c.Flags().StringVar(&baseCID, "base-cid", "", "the base's CID on the hub (default: computed from --base)")
	c.Flags().StringVar(&outDir, "out", "", "keep the delta in this new directory (default: a temporary one)")
	c.Flags().StringVar(&dtype, "dtype", "", "delta dtype: F32, BF16 or F16 (default: each base tensor's)")
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
