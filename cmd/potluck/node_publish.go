package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/potluck-hub/potluck/node"
	"github.com/potluck-hub/potluck/safetensors"
)

func nodePublishCmd() *cobra.Command {
	var hc hubConn
	var keyPath, baseDir, ftDir, baseCID, outDir, dtype string
	var quiet, asJSON, exact bool
	var resume string
	var samples int64
	c := &cobra.Command{
		Use:   "publish --base DIR --finetuned DIR",
		Short: "Compute, sign and publish the delta of a fine-tuned model",
		Long: `Compute finetuned − base tensor by tensor (memory bounded by a chunk,
whatever the model's size), write it with a manifest naming the base by CID
to --out, sign it (--out/model.sig) and upload it; a refused delta's --out
is removed (an upload that can resume keeps it). The hub admits it only if
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
every element, naming one it cannot hold.

A PEFT LoRA adapter directory (adapter_config.json and
adapter_model.safetensors) given as --finetuned is published as it is: its
low-rank factors (their size, not the model's), with a manifest marking them
"lora". The hub checks them against the base's shapes, and merges read them
as scale·B·A, as a local merge does.

Publish once: before anything is computed the hub is asked whether the key
may publish against this base now (a refusal names the key, its org and its
window); once the delta's CID is known, whether it already holds it. If it
does, nothing is sent: the command says who published it and exits 0. A
delta that changes nothing (all zeros) is refused before it is sent.`,
		Example: `  potluck node publish --base ./base --finetuned ./my-finetune \
    --out ./my-delta --hub 127.0.0.1:7420 --key lab-a.key
  potluck node publish --base bafybei...merge --finetuned ./trained-from-the-merge --exact \
    --hub 127.0.0.1:7420 --key lab-a.key
  potluck node publish --base ./base --finetuned ./my-lora-adapter --hub 127.0.0.1:7420 --key lab-a.key --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			signer, err := loadSigner(cmd, keyPath)
			if err != nil {
				return err
			}
			client, err := hc.dial()
			if err != nil {
				return err
			}
			defer client.Close()
			_, statErr := os.Stat(outDir)
			madeOut := outDir != "" && errors.Is(statErr, fs.ErrNotExist)
			if outDir == "" {
				tmp, err := os.MkdirTemp("", "potluck-delta-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(tmp)
				outDir = tmp + "/delta"
			}
			quiet = quiet || asJSON
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
			p, err := client.PublishDelta(cmd.Context(), signer, node.DeltaOptions{
				BaseDir: base, FinetunedDir: ftDir, OutDir: outDir, BaseCID: baseCID, DType: dt, Samples: samples, Exact: exact,
				Progress: stepProgress(cmd.ErrOrStderr(), "delta", quiet),
			}, uploadOptions(cmd, resume, quiet))
			if err != nil {
				if madeOut && !node.Resumable(err) {
					// Refused: a rerun makes the delta afresh. A resumable
					// upload keeps it, for --resume.
					os.RemoveAll(outDir)
				}
				return err
			}
			if !quiet && !p.Existing {
				fmt.Fprintf(cmd.ErrOrStderr(), "published %d tensors, %d bytes, as a delta of %s\n", len(p.Manifest.Tensors), p.Dir.Size(), p.Manifest.Base)
			}
			return printPublication(cmd, p, asJSON)
		},
	}
	hubFlag(c, &hc)
	c.Flags().StringVar(&keyPath, "key", "potluck.key", "your signing key")
	c.Flags().StringVar(&baseDir, "base", "", "the model you trained from, a base or a merge: its directory or its CID (required)")
	c.Flags().StringVar(&ftDir, "finetuned", "", "fine-tuned model directory, or a PEFT LoRA adapter directory (required)")
	c.Flags().StringVar(&baseCID, "base-cid", "", "the base's CID on the hub (default: computed from --base)")
	c.Flags().StringVar(&outDir, "out", "", "keep the delta in this new directory (default: a temporary one)")
	c.Flags().StringVar(&dtype, "dtype", "", "delta dtype: F64, F32, BF16 or F16 (default: each base tensor's; not for an adapter)")
	c.Flags().BoolVar(&exact, "exact", false, "store the delta so that 'node apply' gives back the fine-tune bit for bit (F32 for bf16/f16 weights, F64 for f32)")
	c.Flags().Int64Var(&samples, "samples", 0, "training examples behind this delta, recorded for fedavg merges")
	c.Flags().BoolVar(&quiet, "quiet", false, "print only the CID")
	jsonFlag(c, &asJSON)
	resumeFlag(c, &resume)
	c.MarkFlagRequired("base")
	c.MarkFlagRequired("finetuned")
	return c
}

// printPublication prints the release's CID (or, with --json, the
// release); when the hub held it already, it says so, on stderr.
func printPublication(cmd *cobra.Command, p *node.Publication, asJSON bool) error {
	if p.Existing {
		entry := ""
		if r := p.Release.Receipt; r != nil {
			entry = fmt.Sprintf(", log entry %d", r.Index)
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "already published by %s%s; nothing sent\n", p.Release.Publisher, entry)
	}
	if asJSON {
		return printJSON(cmd.OutOrStdout(), publishJSON{Release: releaseJSON(p.Release), Existing: p.Existing})
	}
	fmt.Fprintln(cmd.OutOrStdout(), p.Release.CID)
	return nil
}
