package merge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/safetensors"
	"github.com/potluck-hub/potluck/store"
)

// DiffOptions tunes Diff.
type DiffOptions struct {
	// DType of the delta's tensors; empty keeps each base tensor's dtype
	// (a bf16 model gives a bf16 delta, half the size of f32).
	DType safetensors.DType
	// Exact makes a delta from which Apply gives back the fine-tune's bits:
	// tensors in F32 for BF16 and F16 weights, F64 for F32 and F64 ones
	// (unless DType names the dtype), and every element checked, a tensor
	// where Apply would not give the fine-tune's value refused. (F32 holds
	// the difference of two BF16 values exactly when they are at most 16
	// binades apart, of two F16 values at most 13; F64 that of two F32
	// values at most 29: exact_test.go.)
	Exact bool
	// Progress, when set, is told after each chunk how many bytes of the
	// fine-tune's float tensors have been read of how many: a 14 GB model's
	// delta takes minutes, and a terminal shows how far it is.
	Progress func(done, total int64)
	// Hashed, when set, is told each shard's hashes (SHA-256 and CID, as
	// store.HashFile gives them) by its path relative to dir: the bytes
	// are hashed as they are written, beside the subtraction, so a
	// publisher does not read the delta again to name it.
	Hashed func(rel string, info store.FileInfo)
}

// losslessDType is the delta dtype Exact picks for a fine-tune tensor of
// dtype ft over a base tensor of dtype base.
func losslessDType(ft, base safetensors.DType) safetensors.DType {
	half := func(d safetensors.DType) bool { return d == safetensors.BF16 || d == safetensors.F16 }
	if half(ft) && half(base) {
		return safetensors.F32
	}
	return safetensors.F64
}

// Diff writes finetuned − base into dir (which must exist), one shard per
// shard of finetuned, chunk by chunk, and returns the delta's tensors.
// Every tensor of finetuned must be in the base with the same shape; float
// tensors are subtracted in float32, non-float tensors must equal the base's
// and are left out.
func Diff(ctx context.Context, base, finetuned *Model, dir string, opts DiffOptions) ([]potluck.Tensor, error) {
	e := &differ{base: make([]float32, ChunkElems), x: make([]float32, ChunkElems), raw: make([]byte, 8*ChunkElems), progress: opts.Progress}
	if e.progress != nil {
		for _, sh := range finetuned.Shards {
			for _, t := range sh.Tensors {
				if bt, ok := base.Tensor(t.Name); ok && t.DType.IsFloat() && bt.DType.IsFloat() {
					e.total += t.Size()
				}
			}
		}
		e.progress(0, e.total)
	}
	var all []potluck.Tensor
	weightMap := map[string]string{}
	for _, sh := range finetuned.Shards {
		ts, err := e.diffShard(ctx, base, finetuned, sh, dir, opts)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			weightMap[t.Name] = t.File
		}
		all = append(all, ts...)
	}
	if len(finetuned.Shards) > 1 {
		idx := &safetensors.Index{WeightMap: weightMap}
		if err := safetensors.WriteIndex(filepath.Join(dir, "model.safetensors.index.json"), idx); err != nil {
			return nil, err
		}
	}
	return all, nil
}

// differ holds Diff's chunk buffers; those for F64 deltas and exactness
// checks (exact.go) are made when first needed.
type differ struct {
	base, x []float32
	raw     []byte
	wide    *wideBufs

	progress    func(done, total int64)
	done, total int64 // fine-tune bytes read, of all
}

// readChunk reads len(dst) elements of t from element off and widens them.
func (e *differ) readChunk(m *Model, t Tensor, off int64, dst []float32) error {
	return readFloats(m, t, off, dst, e.raw)
}

// pair is one tensor of the fine-tuned model and its base counterpart.
type pair struct{ ft, base Tensor }

func (e *differ) diffShard(ctx context.Context, base, ft *Model, sh Shard, dir string, opts DiffOptions) ([]potluck.Tensor, error) {
	var pairs []pair
	var specs []safetensors.TensorSpec
	for _, t := range sh.Tensors {
		bt, ok := base.Tensor(t.Name)
		if !ok {
			return nil, fmt.Errorf("%w: %s: tensor %q is not in the base %s", ErrIncompatible, ft.Name, t.Name, base.Name)
		}
		if !sameShape(t.Shape, bt.Shape) {
			return nil, fmt.Errorf("%w: %s: tensor %q: shape %v, base has %v", ErrIncompatible, ft.Name, t.Name, t.Shape, bt.Shape)
		}
		if !t.DType.IsFloat() || !bt.DType.IsFloat() {
			if err := sameBytes(t, bt); err != nil {
				return nil, fmt.Errorf("%w: %s: tensor %q: %v", ErrIncompatible, ft.Name, t.Name, err)
			}
			continue
		}
		dt := bt.DType
		if opts.DType != "" {
			dt = opts.DType
		} else if opts.Exact {
			dt = losslessDType(t.DType, bt.DType)
		}
		pairs = append(pairs, pair{ft: t, base: bt})
		specs = append(specs, safetensors.TensorSpec{Name: t.Name, DType: dt, Shape: t.Shape})
	}
	return writeShard(ctx, dir, sh.Path, specs, map[string]string{"format": "pt", "potluck": "delta"}, opts.Hashed,
		func(i int, dt safetensors.DType, w io.Writer) error {
			return e.diffTensor(base, ft, pairs[i], dt, opts.Exact, w)
		})
}

func (e *differ) diffTensor(base, ft *Model, p pair, outDT safetensors.DType, exact bool, w io.Writer) error {
	n := p.ft.NumElements()
	for off := int64(0); off < n; off += ChunkElems {
		k := int(min(ChunkElems, n-off))
		raw, err := e.diffChunk(base, ft, p, off, k, outDT)
		if err != nil {
			return err
		}
		if exact {
			if err := e.checkExact(base, ft, p, off, raw, outDT); err != nil {
				return err
			}
		}
		if _, err := w.Write(raw); err != nil {
			return err
		}
		if e.progress != nil {
			e.done += int64(k) * int64(p.ft.DType.Size())
			e.progress(e.done, e.total)
		}
	}
	return nil
}

// diffChunk returns k elements of finetuned − base from element off,
// encoded in outDT: computed in float32 (one rounding), or in float64 for
// an F64 delta.
func (e *differ) diffChunk(base, ft *Model, p pair, off int64, k int, outDT safetensors.DType) ([]byte, error) {
	if outDT == safetensors.F64 {
		return e.diffChunk64(base, ft, p, off, k)
	}
	if err := e.readChunk(base, p.base, off, e.base[:k]); err != nil {
		return nil, err
	}
	if err := e.readChunk(ft, p.ft, off, e.x[:k]); err != nil {
		return nil, err
	}
	axpy(e.x[:k], -1, e.base[:k]) // x − 1·base: exact negation, one rounding
	if i := firstNonFinite(e.x[:k]); i >= 0 {
		return nil, fmt.Errorf("%w: %s: tensor %q: element %d of the delta is %v", ErrIncompatible, ft.Name, p.ft.Name, off+int64(i), e.x[i])
	}
	raw := e.raw[:k*outDT.Size()]
	if err := safetensors.EncodeFloat32(raw, e.x[:k], outDT); err != nil {
		return nil, err
	}
	if i := firstNonFiniteEncoded(raw, outDT); i >= 0 {
		return nil, fmt.Errorf("%w: %s: tensor %q: element %d: the delta %v is not finite in %s", ErrOverflow, ft.Name, p.ft.Name, off+int64(i), e.x[i], outDT)
	}
	return raw, nil
}

// sameBytes checks that two (non-float) tensors hold identical bytes,
// comparing a chunk at a time.
func sameBytes(a, b Tensor) error {
	if a.DType != b.DType {
		return fmt.Errorf("dtype %s, base has %s", a.DType, b.DType)
	}
	ra, rb := a.Section(), b.Section()
	bufA, bufB := make([]byte, 1<<20), make([]byte, 1<<20)
	for {
		na, errA := io.ReadFull(ra, bufA)
		nb, errB := io.ReadFull(rb, bufB)
		if na != nb || !bytes.Equal(bufA[:na], bufB[:nb]) {
			return errors.New("a non-float tensor differs from the base; only float tensors can be deltas")
		}
		if errA == io.EOF || errA == io.ErrUnexpectedEOF {
			return nil
		}
		if err := errors.Join(errA, errB); err != nil {
			return err
		}
	}
}
