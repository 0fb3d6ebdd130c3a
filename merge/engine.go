package merge

import (
	"fmt"
	"io"

	"github.com/potluck-hub/potluck/safetensors"
)

// workingSet bounds one worker's chunk buffers (float32s): a chunk shrinks
// as inputs are added, so memory does not grow with their number.
const workingSet = 12 << 20

// engine merges tensors for one worker, a chunk at a time, reusing its
// buffers for every chunk and tensor.
type engine struct {
	j               *Job
	chunk           int // elements per chunk, a multiple of 64
	base, out, acc  []float32
	theta           []float32 // slerp's θ₁
	xs              [][]float32
	raw             []byte
	sc              scratch
	cuts            *cutFinder
	order           []uint64
	vals            []float32
	w32             []float32
	rowG            []float64 // per-row statistics (model_stock filter_wise)
	before, afterL1 [8]float64
}

func newEngine(j *Job) *engine {
	n := len(j.inputs)
	chunk := j.ChunkElems
	if chunk <= 0 {
		chunk = min(ChunkElems, workingSet/(n+4))
	}
	chunk = max(64, chunk&^63)
	e := &engine{j: j, cuts: newCutFinder(), vals: make([]float32, n), w32: make([]float32, n)}
	e.xs = make([][]float32, n)
	e.grow(chunk)
	return e
}

// grow makes every chunk buffer hold k elements (a row-aligned method may
// need one longer row than a chunk).
func (e *engine) grow(k int) {
	if k <= e.chunk {
		return
	}
	e.chunk = k
	e.base, e.out, e.acc, e.theta = make([]float32, k), make([]float32, k), make([]float32, k), make([]float32, k)
	for i := range e.xs {
		e.xs[i] = make([]float32, k)
	}
	e.raw = make([]byte, 8*k)
	e.sc = scratch{raw: make([]byte, 8*k), f: make([]float32, k)}
}

// mergeTensor writes one output tensor to w in outDT.
func (e *engine) mergeTensor(bt Tensor, outDT safetensors.DType, w io.Writer) error {
	if !bt.DType.IsFloat() {
		_, err := io.Copy(w, bt.Section())
		return err
	}
	tr, err := e.newRun(bt)
	if err != nil {
		return err
	}
	if err := tr.prepare(); err != nil {
		return err
	}
	for off := int64(0); off < tr.n; off += int64(tr.chunk) {
		k := int(min(int64(tr.chunk), tr.n-off))
		if err := tr.combine(off, k); err != nil {
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

// readBase reads k elements of the base tensor from off into e.base.
func (e *engine) readBase(bt Tensor, off int64, k int) error {
	return readFloats(e.j.Base, bt, off, e.base[:k], e.raw)
}
