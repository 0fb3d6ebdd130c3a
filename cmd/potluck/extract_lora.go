package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/potluck-hub/potluck/merge"
	"github.com/potluck-hub/potluck/safetensors"
	"github.com/potluck-hub/potluck/store"
)

func extractLoRACmd() *cobra.Command {
	var base, model, out, dtype, hf string
	var o merge.ExtractOptions
	c := &cobra.Command{
		Use:   "extract-lora --base DIR --model DIR --rank R --out DIR",
		Short: "Write a fine-tune's delta from its base as a PEFT LoRA adapter",
		Long: `Extract a LoRA adapter from a fine-tuned model, as mergekit-extract-lora
does: each 2-D weight that differs from the base (but the embeddings) becomes
lora_A and lora_B of rank at most --rank, from a randomized SVD (a Gaussian
sketch from --seed, power iterations, QR, and the SVD of the small projected
matrix); lora_alpha is the rank, so ΔW = B·A. Embeddings, norms and biases
that differ are saved whole (modules_to_save). The output is a PEFT adapter
directory (adapter_config.json, adapter_model.safetensors) that 'potluck
merge' and PEFT read. Each module's relative reconstruction error
‖Δ − B·A‖_F / ‖Δ‖_F is printed. --base and --model are directories,
org/name[@revision] in the local Hugging Face cache, or model+adapter.`,
		Example: `  potluck extract-lora --base ./llama --model ./llama-law --rank 32 --out ./law-lora
  potluck merge ties-with-the-adapter.yml ./merged`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if o.DType, err = safetensors.ParseDType(strings.ToUpper(dtype)); err != nil {
				return fmt.Errorf("--dtype %q: want F32, BF16 or F16", dtype)
			}
			open := merge.OpenOptions{HFCache: hfCache(hf)}
			b, _, err := open.Open(cmd.Context(), base)
			if err != nil {
				return fmt.Errorf("--base: %w", err)
			}
			defer b.Close()
			m, _, err := open.Open(cmd.Context(), model)
			if err != nil {
				return fmt.Errorf("--model: %w", err)
			}
			defer m.Close()
			o.BaseName = base
			mods, err := merge.ExtractLoRA(b, m, out, o)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			for _, mod := range mods {
				if mod.Rank == 0 {
					fmt.Fprintf(w, "%s\tsaved whole\n", mod.Tensor)
				} else {
					fmt.Fprintf(w, "%s\trank %d\trelative error %.4g\n", mod.Tensor, mod.Rank, mod.RelError)
				}
			}
			root, err := store.HashDir(out)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "%s\t%s\n", root, out)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&base, "base", "", "the base model (required)")
	f.StringVar(&model, "model", "", "the fine-tuned model (required)")
	f.StringVar(&out, "out", "", "the adapter directory to write; it must not exist (required)")
	f.IntVar(&o.Rank, "rank", 16, "the adapter's rank: at most this many components per module")
	f.StringVar(&dtype, "dtype", "F32", "the factors' dtype: F32, BF16 or F16")
	f.Uint64Var(&o.Seed, "seed", 0, "seed of the randomized SVD's Gaussian sketches")
	f.IntVar(&o.PowerIters, "power-iterations", 2, "power iterations of the randomized SVD")
	f.IntVar(&o.Oversample, "oversample", 10, "extra sketch columns of the randomized SVD")
	f.StringVar(&hf, "transformers-cache", "", "the Hugging Face hub cache to find org/name models in")
	for _, name := range []string{"base", "model", "out"} {
		c.MarkFlagRequired(name)
	}
	// mergekit-extract-lora's names for the same flags.
	f.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		switch name {
		case "base-model":
			name = "base"
		case "max-rank":
			name = "rank"
		case "out-path":
			name = "out"
		}
		return pflag.NormalizedName(name)
	})
	return c
}
