package merge

import (
	"context"
	"fmt"
	"io"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/safetensors"
)

// engine merges one tensor at a time, ChunkElems elements at a time, reusing
// its buffers for every chunk.
type engine struct {
	j       *Job
	weights []float32 // per delta, as the method uses them
	lambda  float32
	linear  bool
	raw     []byte
	base    []float32
	acc     []float32
	x       []float32
	out     []float32
}

func newEngine(j *Job) *engine {
	e := &engine{j: j, linear: j.Recipe.MergeMethod == "linear", lambda: float32(j.Recipe.floatParam("lambda"))}
	sum := j.Recipe.weightSum()
	for i := range j.Deltas {
		w := j.Recipe.Weight(i)
		if e.linear && j.Recipe.boolParam("normalize") {
			w /= sum // in float64, rounded once below
		}
		e.weights = append(e.weights, float32(w))
	}
	e.base = make([]float32, ChunkElems)
	e.acc = make([]float32, ChunkElems)
	e.x = make([]float32, ChunkElems)
	e.out = make([]float32, ChunkElems)
	e.raw = make([]byte, ChunkElems*8)
	return e
}

// writeShard writes the output shard matching one base shard and returns its
// tensors as the manifest records them.
func (e *engine) writeShard(ctx context.Context, dir string, sh Shard) ([]potluck.Tensor, error) {
	specs := make([]safetensors.TensorSpec, len(sh.Tensors))
	for i, t := range sh.Tensors {
		specs[i] = safetensors.TensorSpec{Name: t.Name, DType: e.j.outDType(t.DType), Shape: t.Shape}
	}
	return writeShard(ctx, dir, sh.Path, specs, sh.Header.Metadata, func(i int, dt safetensors.DType, w io.Writer) error {
		return e.mergeTensor(sh.Tensors[i], dt, w)
	})
}

// input is one delta's view of the tensor being merged.
type input struct {
	model  *Model
	t      Tensor
	has    bool
	weight float32
}

func (e *engine) mergeTensor(bt Tensor, outDT safetensors.DType, w io.Writer) error {
	if !bt.DType.IsFloat() {
		_, err := io.Copy(w, bt.Section())
		return err
	}
	ins := make([]input, len(e.j.Deltas))
	for i, d := range e.j.Deltas {
		t, ok := d.Tensor(bt.Name)
		ins[i] = input{model: d, t: t, has: ok, weight: e.weights[i]}
	}
	n := bt.NumElements()
	for off := int64(0); off < n; off += ChunkElems {
		k := int(min(ChunkElems, n-off))
		if err := e.readChunk(e.j.Base, bt, off, e.base[:k]); err != nil {
			return err
		}
		if err := e.combine(ins, off, k); err != nil {
			return err
		}
		raw := e.raw[:k*outDT.Size()]
		if err := safetensors.EncodeFloat32(raw, e.out[:k], outDT); err != nil {
			return err
		}
		if i := firstNonFiniteEncoded(raw, outDT); i >= 0 {
			return fmt.Errorf("%w: tensor %q: element %d: the merged value %v is not finite in %s", ErrOverflow, bt.Name, off+int64(i), e.out[i], outDT)
		}
		if _, err := w.Write(raw); err != nil {
			return err
		}
	}
	return nil
}

// combine computes e.out[:k] from e.base[:k] and the inputs' chunks.
//
//	task_arithmetic: out = base + λ·Σ wᵢδᵢ
//	linear:          out = Σ wᵢ(base + δᵢ), wᵢ already divided by Σw when normalize
func (e *engine) combine(ins []input, off int64, k int) error {
	acc, x := e.acc[:k], e.x[:k]
	clear(acc)
	for _, in := range ins {
		if !in.has {
			if e.linear {
				axpy(acc, in.weight, e.base[:k])
			}
			continue
		}
		if err := e.readDelta(in, off, x); err != nil {
			return err
		}
		if e.linear {
			addInto(x, e.base[:k])
		}
		axpy(acc, in.weight, x)
	}
	if e.linear {
		copy(e.out[:k], acc)
		return nil
	}
	addScaled(e.out[:k], e.base[:k], e.lambda, acc)
	return nil
}

func (e *engine) readDelta(in input, off int64, x []float32) error {
	if err := e.readChunk(in.model, in.t, off, x); err != nil {
		return err
	}
	if i := firstNonFinite(x); i >= 0 {
		return fmt.Errorf("%w: delta %s: tensor %q: element %d is %v", ErrIncompatible, in.model.Name, in.t.Name, off+int64(i), x[i])
	}
	return nil
}

// readChunk reads len(dst) elements of t from element off and widens them.
func (e *engine) readChunk(m *Model, t Tensor, off int64, dst []float32) error {
	size := int64(t.DType.Size())
	raw := e.raw[:int64(len(dst))*size]
	if _, err := t.r.ReadAt(raw, t.Start+off*size); err != nil {
		return fmt.Errorf("merge: model %s: tensor %q: %w", m.Name, t.Name, err)
	}
	return safetensors.DecodeFloat32(dst, raw, t.DType)
}
