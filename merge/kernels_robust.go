package merge

import "github.com/potluck-hub/potluck/merge/kernel"

// The robust aggregation kernels: per element, the inputs' values are
// sorted ascending by their sortable keys (the float32 bits with the
// magnitude bits of negative values flipped, compared as signed integers:
// a total order, −0 below +0, in which equal keys are equal bits, so the
// result does not depend on the inputs' order). They run in merge/kernel
// (sorting networks in AVX-512 or AVX2, the same bits as its generic
// loops).

// medianCombine writes out = base + float32(λ·med): med the middle value,
// or float32(a+b)·0.5 of the two middle ones when len(xs) is even.
func medianCombine(out, base []float32, xs [][]float32, lambda float32) {
	kernel.MedianCombine(out, base, xs, lambda)
}

// trimmedCombine drops the k smallest and k largest values and writes
// out = base + float32(λ·mean), mean = (Σ of the rest, ascending, from +0)
// / float32(len(xs)−2k).
func trimmedCombine(out, base []float32, xs [][]float32, k int, lambda float32) {
	kernel.TrimmedCombine(out, base, xs, k, lambda)
}
