package merge

import (
	"fmt"
	"math"

	"github.com/potluck-hub/potluck/merge/kernel"
	"github.com/potluck-hub/potluck/safetensors"
)

// tensorRun is the merge of one float tensor: its inputs' readers and the
// per-input state that statistics passes compute before the combining pass.
type tensorRun struct {
	e      *engine
	m      method
	bt     Tensor
	n      int64
	cols   int64 // row length: the last dimension (the whole tensor when 1-D)
	chunk  int   // elements per chunk (whole rows for row-wise methods)
	p      *tensorParams
	rd     []chunkReader // per input; nil: the input leaves the tensor as it is
	clip   []float32     // per input: its norm-clipping factor (1: none)
	resc   []float32     // per input: its rescaling after the mask (1: none)
	keys   []uint64      // per input: its mask generator key
	lo, hi []cutState    // per input: its magnitude cuts
	stockT []float64     // model_stock: t for the tensor, or per row
	s0, s1 float32       // slerp's coefficients
	fused  *fusedPlan    // the fused sum, when the tensor can take it
}

func (e *engine) newRun(bt Tensor) (*tensorRun, error) {
	p := e.r.p
	n := len(p.inputs)
	tr := &tensorRun{e: e, m: p.m, bt: bt, n: bt.NumElements(), p: p.params[bt.Name],
		rd: make([]chunkReader, n), clip: make([]float32, n), resc: make([]float32, n), keys: make([]uint64, n),
		lo: make([]cutState, n), hi: make([]cutState, n)}
	tr.cols = tr.n
	if len(bt.Shape) >= 2 {
		tr.cols = bt.Shape[len(bt.Shape)-1]
	}
	tr.chunk = e.chunk
	if tr.m.sparsify == spDella || (tr.m.fam == famStock && p.global.filterWise) {
		rows := max(1, int64(e.chunk)/max(tr.cols, 1))
		tr.chunk = int(min(rows*tr.cols, max(tr.n, 1)))
		e.grow(tr.chunk)
	}
	for i, in := range p.inputs {
		tr.clip[i], tr.resc[i] = 1, 1
		tr.keys[i] = maskKey(p.seed(), in.index, bt.Name)
		if p.skip(i) {
			continue
		}
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

// load reads input i's chunk into x, checks it, clips it and, when sparsify
// is set, thins and rescales it.
func (tr *tensorRun) load(i int, off int64, x []float32, sparsify bool) error {
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
	if sparsify {
		tr.sparsify(i, off, x)
		if tr.resc[i] != 1 {
			scaleBy(x, tr.resc[i])
		}
	}
	return nil
}

// sparsify applies input i's mask to its chunk at off.
func (tr *tensorRun) sparsify(i int, off int64, x []float32) {
	d := tr.p.density[i]
	if d >= 1 {
		return
	}
	switch tr.m.sparsify {
	case spMagnitude, spOutliers:
		if off == 0 {
			tr.lo[i].seen, tr.hi[i].seen = 0, 0
		}
		magnitudeMask(x, &tr.lo[i], &tr.hi[i])
	case spRandom:
		dareMask(x, tr.keys[i], off, keepBelow(d))
	case spDella:
		paper := tr.e.r.p.global.rescalePaper && tr.p.rescale
		if int64(len(tr.e.order)) < tr.cols {
			tr.e.order = make([]uint64, tr.cols)
		}
		for r := int64(0); r < int64(len(x)); r += tr.cols {
			dellaRow(x[r:r+tr.cols], tr.keys[i], off+r, d, tr.p.epsilon[i], paper, tr.e.order)
		}
	}
}

// prepare runs the statistics passes the method needs: norms (clip), the
// angles between inputs (model_stock, slerp), magnitude cuts (TIES,
// breadcrumbs) and L1 norms (rescaling).
func (tr *tensorRun) prepare() error {
	if tr.p.clip > 0 || tr.m.fam == famStock {
		if err := tr.gram(); err != nil {
			return err
		}
	}
	if tr.m.fam == famSlerp {
		if err := tr.slerpCoefficients(); err != nil {
			return err
		}
	}
	if tr.m.sparsify == spNone {
		return nil
	}
	var todo []int
	for i := range tr.rd {
		if tr.rd[i] != nil && tr.p.density[i] < 1 {
			todo = append(todo, i)
		}
	}
	// Each input's cuts and rescaling are its own: inputs go to as many
	// cores as the job has spare.
	return tr.fanOut(len(todo), func(r *tensorRun, k int) error {
		i := todo[k]
		if err := r.findCuts(i); err != nil {
			return err
		}
		if err := r.rescaleFactor(i); err != nil {
			return err
		}
		tr.lo[i], tr.hi[i], tr.resc[i] = r.lo[i], r.hi[i], r.resc[i]
		return nil
	})
}

// findCuts finds input i's magnitude cuts: the top ⌊density·N⌋ (at least
// one) for TIES; for breadcrumbs the ranks [n_bot, N − n_top) with
// n_top = ⌊γ·N⌋ and n_bot = N − ⌊density·N⌋ − n_top (n_top reduced when that
// is negative), as mergekit computes them.
func (tr *tensorRun) findCuts(i int) error {
	if tr.m.sparsify != spMagnitude && tr.m.sparsify != spOutliers {
		return nil
	}
	n, d := tr.n, tr.p.density[i]
	target := max(1, int64(d*float64(n)))
	qs := []int64{n - target, n}
	if tr.m.sparsify == spOutliers {
		top := int64(tr.p.gamma[i] * float64(n))
		bot := n - int64(d*float64(n)) - top
		if bot < 0 {
			top, bot = top+bot, 0
		}
		qs = []int64{bot, n - top}
	}
	x := tr.e.xs[i]
	pass := func(fn func([]float32)) error {
		return tr.passes(func(off int64, k int) error {
			if err := tr.load(i, off, x[:k], false); err != nil {
				return err
			}
			fn(x[:k])
			return nil
		})
	}
	high := func(h *[4][]uint32) error { return pass(func(x []float32) { histHigh(h, x) }) }
	// A bfloat16 or half input, not rescaled, is counted as it lies, by the
	// 15-bit magnitude key of its raw bits: one pass, unwidened. Bins from
	// the format's Inf up hold Inf and NaN: then the widening pass finds
	// the first and fails with it, so its float32 bins are never ranked.
	var exact func(bin int) uint32
	inf := 0
	dr, dense := tr.rd[i].(denseReader)
	if dense && tr.clip[i] == 1 {
		switch dr.t.DType {
		case safetensors.BF16:
			exact, inf = func(bin int) uint32 { return uint32(bin) << 16 }, 0x7F80
		case safetensors.F16:
			exact, inf = func(bin int) uint32 { return kernel.F16ToF32Bits(uint16(bin)) }, 0x7C00
		}
	}
	if exact != nil {
		high = func(h *[4][]uint32) error {
			err := tr.passes(func(off int64, k int) error {
				b, err := rawAt(dr.m, dr.t, off, k, tr.e.raw)
				if err == nil {
					histRaw16(h, b)
				}
				return err
			})
			if err != nil || !nonFiniteBins(h, inf) {
				return err
			}
			for t := range h {
				clear(h[t])
			}
			return pass(func(x []float32) { histHigh(h, x) })
		}
	}
	cuts, err := tr.e.cuts.find(n, qs, exact, high, pass)
	if err != nil {
		return err
	}
	tr.lo[i], tr.hi[i] = cutState{c: cuts[0]}, cutState{c: cuts[1]}
	return nil
}

// rescaleFactor sets input i's rescaling after its mask: mergekit's L1 norm
// ratio ‖δ‖₁/‖mask·δ‖₁ (none when either is below 1e-7), or with
// rescale_mode: paper, DARE's 1/density (DELLA's 1/p is per element).
func (tr *tensorRun) rescaleFactor(i int) error {
	if !tr.p.rescale {
		return nil
	}
	if tr.e.r.p.global.rescalePaper {
		if tr.m.sparsify == spRandom {
			tr.resc[i] = float32(1 / tr.p.density[i])
		}
		return nil
	}
	var before, after [8]float64
	x := tr.e.xs[i]
	err := tr.passes(func(off int64, k int) error {
		if err := tr.load(i, off, x[:k], false); err != nil {
			return err
		}
		sumAbsLanes(&before, int(off&7), x[:k])
		tr.sparsify(i, off, x[:k])
		sumAbsLanes(&after, int(off&7), x[:k])
		return nil
	})
	if b, a := laneSum(&before), laneSum(&after); err == nil && b >= 1e-7 && a >= 1e-7 {
		tr.resc[i] = float32(b / a)
	}
	return err
}

// clipFactors sets each input's factor min(1, τ/‖δᵢ‖) from its squared norm.
func (tr *tensorRun) clipFactors(sq []float64) {
	tau := tr.p.clip
	for i, s := range sq {
		if norm := math.Sqrt(s); tau > 0 && norm > tau {
			tr.clip[i] = float32(tau / norm)
		}
	}
}
