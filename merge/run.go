package merge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/safetensors"
)

// ChunkElems is how many elements of a tensor are processed at a time: it
// bounds the merge's memory (a few buffers of this many float32s).
const ChunkElems = 1 << 20

// Job is a merge ready to run: a checked recipe and its opened inputs.
type Job struct {
	Recipe    *Recipe
	Base      *Model
	BaseCID   string
	Deltas    []*Model // one per Recipe.Models, in order
	DeltaCIDs []string // their CIDs, recorded in the provenance
	Publisher string   // recorded in the manifest
}

// Run writes the merged model to outDir, which must not exist: shards laid out
// like the base's, the base's other files (config, tokenizer) copied, and a
// merge manifest recording everything the output depends on. The output is
// built in a temporary sibling directory and renamed into place, so outDir
// appears whole or not at all.
func Run(ctx context.Context, job *Job, outDir string) (*potluck.Manifest, error) {
	if err := job.check(); err != nil {
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

// check refuses inputs that do not fit the base, naming the tensor.
func (j *Job) check() error {
	if err := j.Recipe.Check(); err != nil {
		return err
	}
	if len(j.Deltas) != len(j.Recipe.Models) || len(j.DeltaCIDs) != len(j.Deltas) {
		return fmt.Errorf("merge: %d deltas and %d CIDs for %d recipe models", len(j.Deltas), len(j.DeltaCIDs), len(j.Recipe.Models))
	}
	for _, d := range j.Deltas {
		if err := CheckDelta(j.Base, d); err != nil {
			return err
		}
	}
	return nil
}

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
	e := newEngine(j)
	man := &potluck.Manifest{Schema: potluck.ManifestSchema, Kind: potluck.KindMerge, Base: j.BaseCID, Publisher: j.Publisher}
	for _, sh := range j.Base.Shards {
		ts, err := e.writeShard(ctx, dir, sh)
		if err != nil {
			return nil, err
		}
		man.Tensors = append(man.Tensors, ts...)
	}
	if err := j.copyOthers(dir); err != nil {
		return nil, err
	}
	files, err := describeFiles(dir)
	if err != nil {
		return nil, err
	}
	man.Files = files
	man.Merge, err = j.provenance()
	if err != nil {
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
	info := &potluck.MergeInfo{Method: j.Recipe.MergeMethod, Recipe: canon, Engine: "potluck " + potluck.Version}
	for i, c := range j.DeltaCIDs {
		info.Inputs = append(info.Inputs, potluck.Input{CID: c, Weight: j.Recipe.Weight(i)})
	}
	return info, nil
}

// copyOthers copies the base's non-tensor files (config, tokenizer, index),
// leaving out a manifest or signature the base may carry.
func (j *Job) copyOthers(dir string) error {
	for _, p := range j.Base.Other {
		if p == potluck.ManifestFile || p == "model.sig" {
			continue
		}
		if err := j.copyFile(dir, p); err != nil {
			return fmt.Errorf("merge: copy %s from base: %w", p, err)
		}
	}
	return nil
}

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
	_, err = io.Copy(f, src)
	return errors.Join(err, f.Sync(), f.Close())
}

// outDType is the dtype a base tensor has in the output.
func (j *Job) outDType(base safetensors.DType) safetensors.DType {
	if d, ok := outDtypes[j.Recipe.OutDtype]; ok && base.IsFloat() {
		return safetensors.DType(d)
	}
	return base
}
