package merge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/safetensors"
)

// ChunkElems is how many elements of a tensor are processed at a time: it
// bounds the merge's memory (a few buffers of this many float32s; fewer
// elements when there are many inputs).
const ChunkElems = 1 << 15

// DefaultShardSize is the output's default shard size limit, mergekit's 5 GB.
const DefaultShardSize = 5_000_000_000

// Job is a merge ready to run: a checked recipe and its opened inputs.
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

	inputs []*input                 // the models the method combines
	params map[string]*tensorParams // per float base tensor
	global *globalParams            // merge-wide parameters
	keep   []bool                   // krum: the inputs selected; nil: all
	spare  chan struct{}            // slots of workers with no tensor left (segment.go)
	eng    *engine                  // WriteTensor's
}

// leave gives a finished worker's slot to the segments of tensors still
// being merged.
func (j *Job) leave() {
	if j.spare != nil {
		j.spare <- struct{}{}
	}
}

// Run writes the merged model to outDir, which must not exist: the base's
// tensors merged, in shards of at most ShardSize bytes with an index, the
// base's other files (config, tokenizer) copied, and a merge manifest
// recording everything the output depends on. Every input and parameter is
// checked before any work starts. The output is built in a temporary
// sibling directory and renamed into place, so outDir appears whole or not
// at all.
func Run(ctx context.Context, job *Job, outDir string) (*potluck.Manifest, error) {
	if err := job.ready(ctx); err != nil {
		return nil, err
	}
	var m *potluck.Manifest
	err := potluck.WriteDir(outDir, func(tmp string) error {
		var err error
		m, err = job.write(ctx, tmp)
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// ready checks the job and, for krum, selects the inputs it keeps.
func (j *Job) ready(ctx context.Context) error {
	if err := j.check(); err != nil {
		return err
	}
	if methods[j.Recipe.MergeMethod].fam == famKrum {
		return j.selectKrum(ctx)
	}
	return nil
}

// check refuses inputs that do not fit the base, naming the tensor, and
// resolves every parameter for every tensor.
func (j *Job) check() error {
	if err := j.Recipe.Check(); err != nil {
		return err
	}
	if len(j.Deltas) != len(j.Recipe.Models) || len(j.DeltaCIDs) != len(j.Deltas) {
		return fmt.Errorf("merge: %d deltas and %d CIDs for %d recipe models", len(j.Deltas), len(j.DeltaCIDs), len(j.Recipe.Models))
	}
	if err := j.openInputs(); err != nil {
		return err
	}
	var err error
	if j.global, err = j.resolveGlobal(); err != nil {
		return err
	}
	names := j.Base.Names()
	pos := layerPositions(names)
	j.params = map[string]*tensorParams{}
	for _, name := range names {
		if t, _ := j.Base.Tensor(name); !t.DType.IsFloat() {
			continue
		}
		if j.params[name], err = j.resolve(name, pos[name]); err != nil {
			return err
		}
	}
	return nil
}

// openInputs classifies every recipe model. The base listed among the
// models is a zero delta for linear and is left out by the other methods,
// as mergekit does.
func (j *Job) openInputs() error {
	j.inputs = nil
	linear := methods[j.Recipe.MergeMethod].fam == famLinear
	for i, d := range j.Deltas {
		if j.DeltaCIDs[i] == j.BaseCID {
			if linear {
				j.inputs = append(j.inputs, &input{index: i, kind: inBase, model: d})
			}
			continue
		}
		in, err := openInput(j.Base, j.BaseCID, d, i)
		if err != nil {
			return fmt.Errorf("merge: models[%d]: %w", i, err)
		}
		j.inputs = append(j.inputs, in)
	}
	if len(j.inputs) == 0 {
		return fmt.Errorf("%w: every model is the base itself", ErrRecipe)
	}
	return nil
}

// skip reports whether input i takes no part in the merge (krum left it out).
func (j *Job) skip(i int) bool { return j.keep != nil && !j.keep[i] }

func sameShape(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// write produces every output file in dir and returns the manifest it wrote.
func (j *Job) write(ctx context.Context, dir string) (*potluck.Manifest, error) {
	tensors, err := j.writeTensors(ctx, dir)
	if err != nil {
		return nil, err
	}
	man := &potluck.Manifest{Schema: potluck.ManifestSchema, Kind: potluck.KindMerge, Base: j.BaseCID, Publisher: j.Publisher, Tensors: tensors}
	if err := j.copyOthers(dir); err != nil {
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
	r := *j.Recipe
	r.BaseModel = j.BaseCID
	r.Models = append([]ModelRef(nil), j.Recipe.Models...)
	for i := range r.Models {
		r.Models[i].Model = j.DeltaCIDs[i]
	}
	canon, err := r.Canonical()
	if err != nil {
		return nil, err
	}
	info := &potluck.MergeInfo{Method: j.Recipe.MergeMethod, Recipe: canon, Engine: "potluck " + potluck.Version, ShardSize: j.shardSize()}
	for i, c := range j.DeltaCIDs {
		info.Inputs = append(info.Inputs, potluck.Input{CID: c, Weight: j.Recipe.Weight(i)})
	}
	return info, nil
}

// skipFromBase are base files a merge does not copy: its manifest and
// signature, its index (the output has its own), and weights in other
// formats, which would contradict the merged ones.
var skipFromBase = regexp.MustCompile(`(^|/)(potluck\.json|model\.sig|model\.safetensors\.index\.json|[^/]*\.bin\.index\.json)$|\.(bin|pt|pth|ckpt|gguf|h5|msgpack|onnx)$`)

// copyOthers copies the base's other files (config, tokenizer, licence),
// with config.json's torch_dtype updated when the recipe sets the dtype.
func (j *Job) copyOthers(dir string) error {
	for _, p := range j.Base.Other {
		if skipFromBase.MatchString(p) {
			continue
		}
		if err := j.copyFile(dir, p); err != nil {
			return fmt.Errorf("merge: copy %s from base: %w", p, err)
		}
	}
	return nil
}

var torchDType = regexp.MustCompile(`"torch_dtype"(\s*):(\s*)"[^"]*"`)

func (j *Job) copyFile(dir, p string) error {
	src, err := j.Base.OpenFile(p)
	if err != nil {
		return err
	}
	defer src.Close()
	dst := filepath.Join(dir, filepath.FromSlash(p))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	if name := j.dtypeName(); p == "config.json" && name != "" {
		b, err := io.ReadAll(io.LimitReader(src, 64<<20))
		if err == nil {
			_, err = f.Write(torchDType.ReplaceAll(b, []byte(`"torch_dtype"$1:$2"`+name+`"`)))
		}
		return errors.Join(err, f.Sync(), f.Close())
	}
	_, err = io.Copy(f, src)
	return errors.Join(err, f.Sync(), f.Close())
}

// dtypeName is the output dtype the recipe names (out_dtype, else dtype).
func (j *Job) dtypeName() string {
	if j.Recipe.OutDtype != "" {
		return j.Recipe.OutDtype
	}
	return j.Recipe.Dtype
}

// outDType is the dtype a base tensor has in the output: the recipe's
// out_dtype, else its dtype (as mergekit writes), else the base tensor's.
func (j *Job) outDType(base safetensors.DType) safetensors.DType {
	if d, ok := outDtypes[j.dtypeName()]; ok && base.IsFloat() {
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
