package main

import (
	"cmp"
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

// mergeFlags are merge's options; mergekit-yaml's spellings are accepted
// where they mean something here.
type mergeFlags struct {
	out, stages, cache, hfCache, shardSize, outShardSize, cpuProfile string
	hc                                                               hubConn
	trust                                                            []string
	workers, threads                                                 int
	seed                                                             uint64
	allowCrimes, noTokenizer, noCard, noLazy, quiet                  bool
	copyTokenizer, writeCard                                         bool
}

func mergeCmd() *cobra.Command {
	var mf mergeFlags
	c := &cobra.Command{
		Use:   "merge RECIPE [OUT]",
		Short: "Run a merge recipe locally (inputs from directories, the Hugging Face cache, or pulled from a hub)",
		Long: `Run a mergekit recipe, as mergekit-yaml runs it. base_model and each model
are a directory: a delta (from 'potluck node publish --out' or 'node pull'), a
PEFT LoRA adapter, a full model, or the base itself; org/name[@revision] found
in the local Hugging Face cache ($HF_HUB_CACHE, $HF_HOME/hub or
~/.cache/huggingface/hub; never downloaded); or model+adapter, the adapter
applied to the model. Without base_model (linear), the first model is the
base. With --hub they are CIDs instead: each is pulled into the cache, every
byte and signature checked, then merged here.

Methods: linear, task_arithmetic, ties, dare_linear, dare_ties, breadcrumbs,
breadcrumbs_ties, della, della_linear, model_stock, slerp, nuslerp,
multislerp, karcher, sce, ram, ramplus_tl, arcee_fusion, nearswap,
passthrough, fedavg, median, trimmed_mean, krum; a clip parameter (norm bound
per delta) on every one.
Parameters go at top level, per model, per slice or per slice source, with
mergekit's filters and gradients over layers. slices build a model of other
depth (a frankenmerge); tokenizer_source, tokenizer and chat_template build
the output's vocabulary and template.

A recipe of several YAML documents is mergekit-multi's: each stage but the
last has a name, later stages read earlier ones' outputs by name, and every
output is kept: named stages in OUT/NAME (or --intermediate-dir/NAME), an
unnamed final stage in OUT.

The output is a model directory: shards of at most --shard-size with
model.safetensors.index.json, the base's config (its dtype, layer count and
vocabulary size updated) and tokenizer files, a model card (README.md),
mergekit_config.yml, and a manifest recording every input by CID. The bytes
are the same for any --workers, and the same merge on a hub gives the same
CID. mergekit's options that mean nothing here (--cuda, --lazy-unpickle,
--trust-remote-code, ...) are refused with the reason.`,
		Example: `  potluck merge examples/ties.yml ./merged --workers 4
  potluck merge frankenmerge.yml ./44-layers --shard-size 2GB
  potluck merge multimerge.yml ./out -I ./stages     # stages in ./stages/NAME, the final merge in ./out
  potluck merge recipe.yaml --out ./merged --hub 127.0.0.1:7420`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			stop, err := startProfile(mf.cpuProfile)
			if err != nil {
				return err
			}
			defer stop()
			return runMerge(cmd, args, &mf)
		},
	}
	f := c.Flags()
	f.StringVar(&mf.out, "out", "", "output directory (or give it after RECIPE); it must not exist")
	f.IntVar(&mf.workers, "workers", min(runtime.NumCPU(), 8), "goroutines merging tensors, and segments of a large tensor, at a time (the output is the same for any count)")
	f.IntVarP(&mf.threads, "num-threads", "j", 0, "mergekit's name for --workers")
	f.StringVar(&mf.cpuProfile, "cpuprofile", "", "write a CPU profile of the merge (go tool pprof) to this file")
	f.StringVar(&mf.shardSize, "shard-size", "5GB", "largest output shard: bytes, or with a unit (KB, MB, GB, KiB, MiB, GiB)")
	f.StringVar(&mf.outShardSize, "out-shard-size", "", "mergekit's shard size: a number with K, M or B (5B is 5 GB)")
	f.StringVarP(&mf.stages, "intermediate-dir", "I", "", "multi-stage recipes: where named stages go (default OUT, when no stage is unnamed)")
	f.BoolVar(&mf.noLazy, "no-lazy", false, "multi-stage recipes: run every stage, even one whose output is there (which is then an error: outputs are never overwritten)")
	f.BoolVar(&mf.noTokenizer, "no-copy-tokenizer", false, "leave the base's tokenizer files out (a tokenizer the recipe builds is still written)")
	f.BoolVar(&mf.copyTokenizer, "copy-tokenizer", true, "copy the base's tokenizer files")
	f.BoolVar(&mf.noCard, "no-write-model-card", false, "keep the base's README.md and write neither a model card nor mergekit_config.yml")
	f.BoolVar(&mf.writeCard, "write-model-card", true, "write a model card (README.md) and mergekit_config.yml")
	f.BoolVar(&mf.allowCrimes, "allow-crimes", false, "merge models whose configs name other architectures than the base's")
	f.Uint64Var(&mf.seed, "random-seed", 0, "the recipe's seed for random masks, when it gives none")
	f.StringVar(&mf.hfCache, "transformers-cache", "", "the Hugging Face hub cache to find org/name models in (default $HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub)")
	f.BoolVarP(&mf.quiet, "quiet", "q", false, "no progress line")
	mf.hc.register(c, "", "hub gRPC address: the recipe names CIDs, pulled and checked before the merge")
	f.StringVar(&mf.cache, "cache", defaultCacheDir(), "where --hub keeps pulled releases, one directory per CID ($"+cacheEnv+"/releases when set)")
	f.StringSliceVar(&mf.trust, "trust", nil, "with --hub: trusted public key (repeatable; default: the hub's and its members')")
	registerMergekitFlags(c)
	return c
}

// runMerge runs merge RECIPE [OUT].
func runMerge(cmd *cobra.Command, args []string, mf *mergeFlags) error {
	if err := refusedMergekitFlag(cmd); err != nil {
		return err
	}
	out, err := mf.output(args)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	stages, err := merge.ParseStages(b)
	if err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	run, err := mf.stageRun(cmd, out, stages)
	if err != nil {
		return err
	}
	if mf.hc.addr != "" {
		client, err := mf.hc.dial()
		if err != nil {
			return err
		}
		defer client.Close()
		keys, err := trustedKeys(cmd, mf.trust, client)
		if err != nil {
			return err
		}
		run.Open.Resolve = pullInto(client, mf.cache, keys)
	}
	for _, s := range stages {
		if err := mf.setSeed(cmd, s.Recipe); err != nil {
			return err
		}
		s.Recipe.PinMaskScheme() // a new merge: the latest random masks, recorded
		for _, w := range s.Recipe.Warnings() {
			fmt.Fprintf(cmd.ErrOrStderr(), "potluck: warning: %s%s\n", stageLabel(s, len(stages)), w)
		}
	}
	results, err := merge.RunStages(cmd.Context(), stages, run)
	for _, r := range results {
		root, herr := store.HashDir(r.Dir)
		if herr != nil {
			return herr
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\n", root, r.Dir)
	}
	return err
}

// output is the output directory: OUT or --out.
func (mf *mergeFlags) output(args []string) (string, error) {
	switch {
	case len(args) == 2 && mf.out != "" && args[1] != mf.out:
		return "", fmt.Errorf("two output directories: %s and --out %s", args[1], mf.out)
	case len(args) == 2:
		return args[1], nil
	case mf.out == "":
		return "", fmt.Errorf("give the output directory: potluck merge RECIPE OUT (or --out OUT)")
	}
	return mf.out, nil
}

// stageRun sets where each stage goes and how its job runs.
func (mf *mergeFlags) stageRun(cmd *cobra.Command, out string, stages []merge.Stage) (merge.StageRun, error) {
	size, err := mf.shardBytes(cmd)
	if err != nil {
		return merge.StageRun{}, err
	}
	run := merge.StageRun{Out: out, Dir: mf.stages, Lazy: !mf.noLazy && len(stages) > 1,
		Open: merge.OpenOptions{HFCache: hfCache(mf.hfCache), AllowCrimes: mf.allowCrimes}}
	if len(stages) == 1 {
		stages[0].Name = "" // one recipe: its output is OUT, whatever its name
	}
	unnamed := stages[len(stages)-1].Name == "" && len(stages) > 1
	switch {
	case unnamed && run.Dir == "":
		return run, fmt.Errorf("the recipe's final stage has no name: it goes to %s, and the named stages need --intermediate-dir", out)
	case run.Dir == "":
		run.Dir = out
	}
	workers := mf.workers
	if mf.threads > 0 {
		workers = mf.threads
	}
	run.Setup = func(s merge.Stage, j *merge.Job) {
		j.Workers, j.ShardSize = workers, size
		j.Output = merge.OutputOptions{NoModelCard: mf.noCard || !mf.writeCard, NoTokenizer: mf.noTokenizer || !mf.copyTokenizer}
		if !mf.quiet {
			j.Progress = mergeProgress(os.Stderr, cmp.Or(s.Name, out))
		}
	}
	return run, nil
}

// shardBytes is --shard-size or mergekit's --out-shard-size.
func (mf *mergeFlags) shardBytes(cmd *cobra.Command) (int64, error) {
	if cmd.Flags().Changed("out-shard-size") {
		if cmd.Flags().Changed("shard-size") {
			return 0, fmt.Errorf("give --shard-size or --out-shard-size, not both")
		}
		return parseKMB(mf.outShardSize)
	}
	return parseSize(mf.shardSize)
}

// setSeed gives a recipe --random-seed when it gives no seed of its own.
func (mf *mergeFlags) setSeed(cmd *cobra.Command, r *merge.Recipe) error {
	if !cmd.Flags().Changed("random-seed") {
		return nil
	}
	if r.Seed != nil && *r.Seed != mf.seed {
		return fmt.Errorf("--random-seed %d: the recipe gives seed %d", mf.seed, *r.Seed)
	}
	seed := mf.seed
	r.Seed = &seed
	return nil
}

func stageLabel(s merge.Stage, n int) string {
	if n == 1 {
		return ""
	}
	return fmt.Sprintf("stage %q: ", cmp.Or(s.Name, "final"))
}

// hfCache is the Hugging Face hub cache: the flag, else $HF_HUB_CACHE, else
// $HF_HOME/hub, else ~/.cache/huggingface/hub.
func hfCache(flag string) string {
	if flag != "" {
		return flag
	}
	if d := os.Getenv("HF_HUB_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("HF_HOME"); d != "" {
		return filepath.Join(d, "hub")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".cache", "huggingface", "hub")
	}
	return ""
}

// pullInto resolves a CID to cache/CID, pulling it there (every file and
// the signature checked) unless an earlier pull left it, which is checked
// again offline (node.Client.Cached); merge.Open then recomputes the
// directory's CID.
func pullInto(client *node.Client, cache string, keys []*signing.PublicKey) merge.Resolver {
	return func(ctx context.Context, cid string) (string, error) {
		dir, _, err := client.Cached(ctx, cache, cid, keys, nil)
		return dir, err
	}
}

// defaultCacheDir is where releases named by CID on the command line are
// kept: $POTLUCK_CACHE_DIR/releases, else the user's cache folder's
// potluck/releases (~/.cache/potluck/releases on Linux).
func defaultCacheDir() string {
	if d := os.Getenv(cacheEnv); d != "" {
		return filepath.Join(d, "releases")
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "potluck", "releases")
	}
	return filepath.Join(os.TempDir(), "potluck-releases")
}
