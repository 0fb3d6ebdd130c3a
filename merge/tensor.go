package merge

import (
	"fmt"
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
func (tr *tensorRun) l1Rescale(i int, m mask) (float32, error) {
	var before, after [8]float64
	x := tr.e.xs[i]
	err := tr.passes(func(off int64, k int) error {
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
