package merge

import (
	"math"
	"slices"

	"github.com/potluck-hub/potluck/merge/kernel"
)

// The masking kernels: each zeroes the elements of a chunk that a
// sparsification method drops, in place. x holds elements off, off+1, … of
// one input's tensor.

// dareMask keeps element i when draw(key, off+i) < thr (thr = density·2⁵³)
// and zeroes it otherwise: u < thr exactly when u < ⌈thr⌉, u an integer.
func dareMask(x []float32, key uint64, off int64, thr float64) {
	kernel.DAREMask(x, key, off, uint64(math.Ceil(thr)))
}

// magnitudeMask keeps the elements above cut lo and not above cut hi (see
// select.go), as if each cut were asked once per element, in order. A cut
// counts the elements on its key only to keep the first eqAbove of them;
// unless its budget runs out inside this chunk, it decides every element
// of the chunk by one threshold, and the chunk is masked without a branch.
func magnitudeMask(x []float32, lo, hi *cutState) {
	loT, loN, okLo := lo.threshold(x)
	hiT, hiN, okHi := hi.threshold(x)
	if okLo && okHi {
		lo.seen += loN
		hi.seen += hiN
		maskBetween(x, loT, hiT)
		return
	}
	for i, v := range x {
		k := magKey(f32bits(v))
		a, b := lo.above(k), hi.above(k)
		if !a || b {
			x[i] = 0
		}
	}
}

// maskBetween keeps the elements whose magnitude key k has lo ≤ k < hi
// and zeroes (+0) the others.
func maskBetween(x []float32, lo, hi int64) { kernel.MaskBetween(x, lo, hi) }

// dellaRow drops the elements of one row of C = len(x) elements (the first
// is element off of the tensor). An element of magnitude rank r in its row
// (0 the smallest, ties ranked by position as in select.go: the earlier
// element above) is kept with probability
//
//	p = (density − ε) + r·2ε/(C−1)   (p = density when C = 1)
//
// computed in float64 (element e of the tensor is kept when d.keeps(e, p):
// mask.go), and when paper is set a kept element is multiplied by
// float32(1/p). The ranks come from sorting (key, C−1−j) pairs packed in
// uint64s: all distinct, so every sort gives the same order. order is
// scratch of at least C elements.
func dellaRow(x []float32, d drawer, off int64, density, eps float64, paper bool, order []uint64) {
	c := len(x)
	order = order[:c]
	for j, v := range x {
		order[j] = uint64(magKey(f32bits(v)))<<32 | uint64(c-1-j)
	}
	slices.Sort(order)
	lo, span, den := density-eps, 2*eps, float64(c-1)
	for r, packed := range order {
		j := c - 1 - int(uint32(packed))
		p := density
		if c > 1 {
			p = lo + float64(float64(r)*span)/den
		}
		switch {
		case !d.keeps(off+int64(j), p):
			x[j] = 0
		case paper:
			x[j] = float32(float32(1/p) * x[j])
		}
	}
}
