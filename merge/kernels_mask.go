package merge

import "slices"

// The masking kernels: each zeroes the elements of a chunk that a
// sparsification method drops, in place. x holds elements off, off+1, … of
// one input's tensor.

// dareMask keeps element i when draw(key, off+i) < thr (thr = density·2⁵³)
// and zeroes it otherwise.
func dareMask(x []float32, key uint64, off int64, thr float64) {
	for i := range x {
		if float64(draw(key, off+int64(i))) >= thr {
			x[i] = 0
		}
	}
}

// magnitudeMask keeps the elements above cut lo and not above cut hi (see
// select.go), calling each cut once per element, in order.
func magnitudeMask(x []float32, lo, hi *cutState) {
	for i, v := range x {
		k := magKey(f32bits(v))
		a, b := lo.above(k), hi.above(k)
		if !a || b {
			x[i] = 0
		}
	}
}

// dellaRow drops the elements of one row of C = len(x) elements (the first
// is element off of the tensor). An element of magnitude rank r in its row
// (0 the smallest, ties ranked by position as in select.go: the earlier
// element above) is kept with probability
//
//	p = (density − ε) + r·2ε/(C−1)   (p = density when C = 1)
//
// computed in float64, and when paper is set a kept element is multiplied
// by float32(1/p). The ranks come from sorting (key, C−1−j) pairs packed in
// uint64s: all distinct, so every sort gives the same order. order is
// scratch of at least C elements.
func dellaRow(x []float32, key uint64, off int64, density, eps float64, paper bool, order []uint64) {
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
		case float64(draw(key, off+int64(j))) >= keepBelow(p):
			x[j] = 0
		case paper:
			x[j] = float32(float32(1/p) * x[j])
		}
	}
}
