package merge

import (
	"context"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/safetensors"
	"github.com/potluck-hub/potluck/store"
)

// ChunkElems is how many elements of a tensor are processed at a time: it
// bounds the merge's memory (a few buffers of this many float32s; fewer
// elements when there are many inputs).
const ChunkElems = 1 << 15

// DefaultShardSize is the output's default shard size limit, mergekit's 5 GB.
const DefaultShardSize = 5_000_000_000

// Job is a merge to run: a recipe, its opened inputs, and how to run it.
// Run and WriteTensor plan it first (plan.go): every input and parameter
// checked and resolved before any work starts.
type Job struct {
	Recipe  *Recipe
	Base    *Model
	BaseCID string
	// Deltas are the recipe's models in order: delta releases, LoRA
	// adapters, full fine-tuned models, or the base itself.
	Deltas    []*Model
	DeltaCIDs []string // their CIDs, recorded in the provenance
	Publisher string   // recorded in the manifest

	// Workers merge that many tensors at a time (default 1); the output is
	// the same for every count.
	Workers int
	// ShardSize limits each output shard, in bytes (default
	// DefaultShardSize); a larger tensor gets a shard of its own.
	ShardSize int64
	// ChunkElems overrides the chunk length (a multiple of 64), for tests:
	// the output is the same for every chunk length.
	ChunkElems int
	// SegmentElems overrides how many elements of a large tensor one
	// goroutine merges at a time (segment.go), for tests: the output is the
	// same for every segment length.
	SegmentElems int
	// Progress, when set, is called with (0, total) before the first tensor
	// and after each output tensor is written with how many are done; with
	// Workers > 1 calls come from several goroutines and may arrive out of
	// order. It must be cheap: it runs on a worker.
	Progress func(done, total int)
	// Output says what the output holds besides the tensors (output_files.go).
	Output OutputOptions
	// Engine is the engine whose semantics the merge reproduces, as a
	// merge manifest records it ("potluck 0.2.0"); empty for this one.
	// Recomputing a published merge sets it, so a merge an older hub wrote
	// still gives its bytes (compat.go).
	Engine string

	sem      semantics          // Engine's, set by the plan
	layerPos map[string]float64 // a slice's positions for gradients (parts.go)
	plan     *plan              // the last plan made, which WriteTensor reuses
	stream   *stream            // WriteTensor's run and engine, kept between calls
}

// Run writes the merged model to outDir, which must not exist: the base's
// tensors merged, in shards of at most ShardSize bytes with an index, the
// base's other files (config, tokenizer) copied, and a merge manifest
// recording everything the output depends on. Every input and parameter is
// checked before any work starts. The output is built in a temporary
// sibling directory and renamed into place, so outDir appears whole or not
// at all.
func Run(ctx context.Context, job *Job, outDir string) (*potluck.Manifest, error) {
	runs, x, err := job.plans(ctx)
	if err != nil {
		return nil, err
	}
	var m *potluck.Manifest
	err = store.WriteDir(outDir, func(tmp string) error {
		var err error
		m, err = job.write(ctx, runs, x, tmp)
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// newPlan plans the job afresh and keeps the plan for WriteTensor.
func (j *Job) newPlan(ctx context.Context) (*plan, error) {
	j.plan = nil
	p, err := newPlan(ctx, j)
	if err != nil {
		return nil, err
	}
	j.plan = p
	return p, nil
}

// write produces every output file in dir and returns the manifest it wrote.
func (j *Job) write(ctx context.Context, runs []*run, x *expansion, dir string) (*potluck.Manifest, error) {
	tensors, err := writeTensors(ctx, runs, dir, j.shardSize())
	if err != nil {
		return nil, err
	}
	man := &potluck.Manifest{Schema: potluck.ManifestSchema, Kind: potluck.KindMerge, Base: j.BaseCID, Publisher: j.Publisher, Tensors: tensors}
	if err := j.writeOthers(dir, x); err != nil {
		return nil, err
	}
	if man.Files, err = describeFiles(dir); err != nil {
		return nil, err
	}
	if man.Merge, err = j.provenance(); err != nil {
		return nil, err
	}
	return man, man.Write(dir)
}

// provenance records the recipe with every model named by its CID, so the
// same merge run locally over directories and on a hub gives the same bytes.
func (j *Job) provenance() (*potluck.MergeInfo, error) {
	canon, err := j.cidRecipe().Canonical()
	if err != nil {
		return nil, err
	}
	info := &potluck.MergeInfo{Method: j.Recipe.MergeMethod, Recipe: canon, Engine: j.sem.name, ShardSize: j.shardSize(),
		NoModelCard: j.Output.NoModelCard && j.sem.modelCard, NoTokenizer: j.Output.NoTokenizer}
	for i, c := range j.DeltaCIDs {
		info.Inputs = append(info.Inputs, potluck.Input{CID: c, Weight: j.Recipe.Weight(i)})
	}
	return info, nil
}

// dtypeName is the output dtype the recipe names (out_dtype, else dtype).
func (r *Recipe) dtypeName() string {
	if r.OutDtype != "" {
		return r.OutDtype
	}
	return r.Dtype
}

// outDType is the dtype a base tensor has in the output: the recipe's
// out_dtype, else its dtype (as mergekit writes), else the base tensor's.
func (r *Recipe) outDType(base safetensors.DType) safetensors.DType {
	if d, ok := outDtypes[r.dtypeName()]; ok && base.IsFloat() {
		return safetensors.DType(d)
	}
	return base
}

func (j *Job) shardSize() int64 {
	if j.ShardSize > 0 {
		return j.ShardSize
	}
	return DefaultShardSize
}
