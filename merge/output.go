package merge

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/safetensors"
)

// outTensor is one tensor of the output: its base tensor, the run that
// merges it (a part of the output, parts.go), and where it goes.
type outTensor struct {
	r     *run
	bt    Tensor
	shard int
	info  safetensors.TensorInfo // absolute offsets in its shard
}

// outShard is one output file.
type outShard struct {
	name    string
	specs   []safetensors.TensorSpec
	tensors []int // indexes into the output's tensors
	f       *os.File
}

// layout packs the tensors of each run's base, the runs in order and each
// base's tensors in its order, into shards of at most the shard size (a
// larger tensor alone in its shard), named as Hugging Face names them.
func layout(runs []*run, limit int64) ([]*outShard, []*outTensor) {
	var shards []*outShard
	var tensors []*outTensor
	var size int64
	for _, r := range runs {
		for _, sh := range r.p.base.Shards {
			for _, bt := range sh.Tensors {
				dt := r.p.recipe.outDType(bt.DType)
				n := bt.NumElements() * int64(dt.Size())
				if len(shards) == 0 || (size > 0 && size+n > limit) {
					shards, size = append(shards, &outShard{}), 0
				}
				s := shards[len(shards)-1]
				s.specs = append(s.specs, safetensors.TensorSpec{Name: bt.Name, DType: dt, Shape: bt.Shape})
				s.tensors = append(s.tensors, len(tensors))
				tensors = append(tensors, &outTensor{r: r, bt: bt, shard: len(shards) - 1})
				size += n
			}
		}
	}
	for i, s := range shards {
		s.name = "model.safetensors"
		if len(shards) > 1 {
			s.name = fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, len(shards))
		}
	}
	return shards, tensors
}

// writeTensors writes every output tensor, each run's Workers at a time,
// each straight to its place in its shard, then the index. It returns the
// tensors as the manifest records them.
func writeTensors(ctx context.Context, runs []*run, dir string, shardSize int64) ([]potluck.Tensor, error) {
	shards, tensors := layout(runs, shardSize)
	defer func() {
		for _, s := range shards {
			if s.f != nil {
				s.f.Close()
			}
		}
	}()
	if err := createShards(dir, shards, tensors); err != nil {
		return nil, err
	}
	out, err := runParts(ctx, runs, shards, tensors)
	if err != nil {
		return nil, err
	}
	idx := &safetensors.Index{WeightMap: map[string]string{}}
	var total int64
	for _, t := range tensors {
		idx.WeightMap[t.bt.Name] = shards[t.shard].name
		total += t.info.Size()
	}
	idx.Metadata = map[string]any{"total_size": total}
	for _, s := range shards {
		if err := errors.Join(s.f.Sync(), s.f.Close()); err != nil {
			return nil, fmt.Errorf("merge: shard %s: %w", s.name, err)
		}
		s.f = nil
	}
	return out, safetensors.WriteIndex(filepath.Join(dir, safetensors.IndexName), idx)
}

// runParts runs each run over its tensors, in order, progress counting
// over them all.
func runParts(ctx context.Context, runs []*run, shards []*outShard, tensors []*outTensor) ([]potluck.Tensor, error) {
	var out []potluck.Tensor
	from := 0
	for _, r := range runs {
		to := from
		for to < len(tensors) && tensors[to].r == r {
			to++
		}
		if progress := r.progress; progress != nil && len(runs) > 1 {
			done, total := from, len(tensors)
			r.progress = func(n, _ int) { progress(done+n, total) }
		}
		part, err := r.runWorkers(ctx, shards, tensors[from:to])
		if err != nil {
			return nil, err
		}
		out, from = append(out, part...), to
	}
	return out, nil
}

// createShards creates each shard file with its header written.
func createShards(dir string, shards []*outShard, tensors []*outTensor) error {
	for _, s := range shards {
		f, err := os.Create(filepath.Join(dir, s.name))
		if err != nil {
			return fmt.Errorf("merge: %w", err)
		}
		s.f = f
		w, err := safetensors.NewWriter(f, s.specs, map[string]string{"format": "pt"})
		if err != nil {
			return fmt.Errorf("merge: shard %s: %w", s.name, err)
		}
		for k, info := range w.Tensors() {
			tensors[s.tensors[k]].info = info
		}
	}
	return nil
}

// runWorkers merges the tensors, Workers at a time, each worker taking the
// next tensor in order. The first error (in tensor order) stops the rest.
func (r *run) runWorkers(ctx context.Context, shards []*outShard, tensors []*outTensor) ([]potluck.Tensor, error) {
	out := make([]potluck.Tensor, len(tensors))
	errs := make([]error, len(tensors))
	var mu sync.Mutex
	next, failed := 0, false
	var done atomic.Int64
	if r.progress != nil {
		r.progress(0, len(tensors))
	}
	take := func() int {
		mu.Lock()
		defer mu.Unlock()
		if failed || next == len(tensors) {
			return -1
		}
		next++
		return next - 1
	}
	var wg sync.WaitGroup
	r.openSlots(0) // each worker frees its slot when it runs out of tensors
	for range r.workers {
		wg.Go(func() {
			defer r.giveSlot()
			e := newEngine(r)
			for i := take(); i >= 0; i = take() {
				out[i], errs[i] = e.writeTensor(ctx, shards[tensors[i].shard], tensors[i])
				if errs[i] != nil {
					mu.Lock()
					failed = true
					mu.Unlock()
				} else if r.progress != nil {
					r.progress(int(done.Add(1)), len(tensors))
				}
			}
		})
	}
	wg.Wait()
	return out, firstError(errs)
}

// writeTensor merges one tensor into its place in the shard.
func (e *engine) writeTensor(ctx context.Context, s *outShard, t *outTensor) (potluck.Tensor, error) {
	if err := ctx.Err(); err != nil {
		return potluck.Tensor{}, err
	}
	w := &offsetWriter{f: s.f, off: t.info.Start, h: sha256.New()}
	if err := e.mergeTensor(t.bt, t.info.DType, w); err != nil {
		return potluck.Tensor{}, err
	}
	if w.off != t.info.End {
		return potluck.Tensor{}, fmt.Errorf("merge: tensor %q: wrote %d of %d bytes", t.bt.Name, w.off-t.info.Start, t.info.Size())
	}
	var sum [32]byte
	copy(sum[:], w.h.Sum(nil))
	return potluck.Tensor{Name: t.info.Name, DType: string(t.info.DType), Shape: t.info.Shape, File: s.name,
		Offset: t.info.Start, Length: t.info.Size(), SHA256: potluck.HexDigest(sum), Encoding: "dense"}, nil
}

// offsetWriter writes a tensor's bytes at their place in its shard,
// hashing them as they pass.
type offsetWriter struct {
	f   *os.File
	off int64
	h   hash.Hash
}

func (w *offsetWriter) Write(p []byte) (int, error) {
	n, err := w.f.WriteAt(p, w.off)
	w.off += int64(n)
	w.h.Write(p[:n])
	if err != nil {
		return n, fmt.Errorf("merge: %w", err)
	}
	return n, nil
}
