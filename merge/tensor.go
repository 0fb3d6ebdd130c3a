package merge

import (
	"fmt"

	"github.com/potluck-hub/potluck/merge/kernel"
)

// tensorRun is the merge of one float tensor on one engine: its inputs'
// readers and the state the statistics passes give before the combining
// pass. It is also what a method's stages read the tensor through:
// passes, load and readBase.
type tensorRun struct {
	e     *engine
	op    *tensorOp // the plan's
	bt    Tensor
	n     int64
	cols  int64         // row length: the last dimension (the whole tensor when 1-D)
	chunk int           // elements per chunk (whole rows when op.rows)
	rd    []chunkReader // per input; nil: the input leaves the tensor as it is
	clip  []float32     // per input: its norm-clipping factor (1: none)
	resc  []float32     // per input: its rescaling after the mask (1: none)
	masks []mask        // per input: nil when it is kept whole
	gram  gram          // the inner products op.gram asked for
	comb  combiner      // the chunks' combiner
	fused *fusedPlan    // the fused sum, when the tensor can take it
}

func (e *engine) newRun(bt Tensor) (*tensorRun, error) {
	p := e.r.p
	n := len(p.inputs)
	tr := &tensorRun{e: e, op: p.ops[bt.Name], bt: bt, n: bt.NumElements(),
		rd: make([]chunkReader, n), clip: make([]float32, n), resc: make([]float32, n), masks: make([]mask, n)}
	tr.cols = tr.n
	if len(bt.Shape) >= 2 {
		tr.cols = bt.Shape[len(bt.Shape)-1]
	}
	tr.chunk = e.chunk
	if tr.op.rows {
		rows := max(1, int64(e.chunk)/max(tr.cols, 1))
		tr.chunk = int(min(rows*tr.cols, max(tr.n, 1)))
		e.grow(tr.chunk)
	}
	for i, in := range p.inputs {
		tr.clip[i], tr.resc[i] = 1, 1
		rd, err := in.reader(p.base, bt, &e.sc)
		if err != nil {
			return nil, err
		}
		tr.rd[i] = rd
	}
	return tr, nil
}

// passes calls fn on every chunk of the tensor, in order.
func (tr *tensorRun) passes(fn func(off int64, k int) error) error {
	for off := int64(0); off < tr.n; off += int64(tr.chunk) {
		if err := fn(off, int(min(int64(tr.chunk), tr.n-off))); err != nil {
			return err
		}
	}
	return nil
}

// load reads input i's chunk into x, checks it, clips it and, when masked
// is set, masks and rescales it.
func (tr *tensorRun) load(i int, off int64, x []float32, masked bool) error {
	rd := tr.rd[i]
	if rd == nil {
		clear(x)
		return nil
	}
	if err := rd.read(off, x); err != nil {
		return err
	}
	if b := firstNonFinite(x); b >= 0 {
		return fmt.Errorf("%w: delta %s: tensor %q: element %d is %v", ErrIncompatible, tr.e.r.p.inputs[i].model.Name, tr.bt.Name, off+int64(b), x[b])
	}
	if tr.clip[i] != 1 {
		scaleBy(x, tr.clip[i])
	}
	if masked && tr.masks[i] != nil {
		tr.masks[i].apply(tr, off, x)
		if tr.resc[i] != 1 {
			scaleBy(x, tr.resc[i])
		}
	}
	return nil
}

// readBase returns the base's k elements from off, read into the engine's
// base buffer.
func (tr *tensorRun) readBase(off int64, k int) ([]float32, error) {
	return tr.e.base[:k], tr.e.readBase(tr.bt, off, k)
}

// prepare runs the op's statistics stages in order: the deltas' norms (for
// clipping) and the inner products it asks for; each input's mask; the
// method's own passes, which give the combiner.
func (tr *tensorRun) prepare() error {
	op := tr.op
	if op.clip > 0 || op.gram != gramNorms {
		if err := tr.gatherGram(op.gram); err != nil {
			return err
		}
	}
	if op.mask != nil {
		if err := tr.prepareMasks(); err != nil {
			return err
		}
	}
	tr.comb = op.combine
	if op.stats != nil {
		var err error
		tr.comb, err = op.stats(tr)
		return err
	}
	return nil
}

// prepareMasks makes every input's mask. Each input's mask and rescaling
// are its own: inputs go to as many cores as the job has spare.
func (tr *tensorRun) prepareMasks() error {
	var todo []int
	for i := range tr.rd {
		if tr.rd[i] != nil {
			todo = append(todo, i)
		}
	}
	return tr.fanOut(len(todo), func(r *tensorRun, k int) error {
		i := todo[k]
		m, resc, err := tr.op.mask.prepare(r, i)
		tr.masks[i], tr.resc[i] = m, resc
		return err
	})
}

// l1Rescale is mergekit's rescaling of input i after mask m: the L1 norm
// ratio ‖δ‖₁/‖m·δ‖₁ (1, none, when either is below 1e-7), over one pass.
//
// A scheme-2 DARE mask over a dense bfloat16 or float32 delta, not
// clipped, is taken on the encoded bytes (kernel.DARE2L1: both sums and
// the draws in one pass, nothing widened into memory); the same sums, to
// the bit, as the general pass, which a chunk holding a value that is not
// finite goes through to name it.
func (tr *tensorRun) l1Rescale(i int, m mask) (float32, error) {
	var before, after [8]float64
	x := tr.e.xs[i]
	raw := tr.rawDARE(i, m)
	err := tr.passes(func(off int64, k int) error {
		if raw != nil {
			b, err := rawAt(raw.d.m, raw.d.t, off, k, tr.e.raw)
			if err != nil {
				return err
			}
			b0, a0 := before, after
			if kernel.DARE2L1(raw.f, b, raw.key, uint64(off), raw.keep, &before, &after) {
				return nil
			}
			before, after = b0, a0
		}
		if err := tr.load(i, off, x[:k], false); err != nil {
			return err
		}
		sumAbsLanes(&before, int(off&7), x[:k])
		m.apply(tr, off, x[:k])
		sumAbsLanes(&after, int(off&7), x[:k])
		return nil
	})
	if b, a := laneSum(&before), laneSum(&after); err == nil && b >= 1e-7 && a >= 1e-7 {
		return float32(b / a), nil
	}
	return 1, err
}

// dareRaw is what l1Rescale needs to take an input's sums on its encoded
// bytes.
type dareRaw struct {
	d    denseReader
	f    kernel.Format
	key  uint64
	keep uint32
}

// rawDARE is input i's dareRaw under mask m, or nil when its sums cannot
// be taken on its encoded bytes.
func (tr *tensorRun) rawDARE(i int, m mask) *dareRaw {
	rm, ok := m.(randomMask)
	d, dense := tr.rd[i].(denseReader)
	if !ok || rm.d.scheme != 2 || !dense || tr.clip[i] != 1 {
		return nil
	}
	f, ok := kernelFormat(d.t.DType)
	if !ok || f == kernel.F16 { // half is widened faster by half's kernels
		return nil
	}
	return &dareRaw{d: d, f: f, key: rm.d.key, keep: keep16(rm.p)}
}
