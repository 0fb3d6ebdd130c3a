package merge

import "github.com/potluck-hub/potluck/merge/kernel"

// The reduction kernels accumulate in float64 over 8 lanes: element i of a
// tensor (or of a row, for row statistics) goes to lane i mod 8, each lane
// summed in element order, and a reduction ends with laneSum's fixed tree.
// lane is the lane of x[0]. A product of two float32 values is exact in
// float64, so a fused multiply-add gives the same bits as a separate one,
// and the order is fixed: any chunking, worker count or SIMD width that
// keeps the lanes gives the same sum.

// sumAbsLanes adds |x[i]| to acc[(lane+i) mod 8].
func sumAbsLanes(acc *[8]float64, lane int, x []float32) { kernel.SumAbsLanes(acc, lane, x) }

// dotLanes adds float64(a[i])·float64(b[i]) to acc[(lane+i) mod 8].
func dotLanes(acc *[8]float64, lane int, a, b []float32) { kernel.DotLanes(acc, lane, a[:len(b)], b) }

// dotPairs is dotLanes for every pair p: acc[p] += the lanes of as[p]·bs[p].
func dotPairs(acc []*[8]float64, lane int, as, bs [][]float32) { kernel.DotPairs(acc, lane, as, bs) }

// laneSum is ((a₀+a₁)+(a₂+a₃)) + ((a₄+a₅)+(a₆+a₇)).
func laneSum(acc *[8]float64) float64 {
	return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
}
