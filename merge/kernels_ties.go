package merge

import "github.com/potluck-hub/potluck/merge/kernel"

// The sign-consensus kernels (TIES and the methods built on it). xs[i] is
// input i's chunk after trimming, w[i] its weight; inputs are taken in
// recipe order, every sum starts from +0 and rounds each step to float32,
// and each product is rounded before it is added (no fused multiply-add).
// Both run in merge/kernel: AVX-512 and AVX2, branch-free, bit for bit
// the reference loops in its ties_generic.go.

// tiesWeighted is mergekit's consensus: per element, with vᵢ = float32(wᵢ·xᵢ),
//
//	elect  = sign(Σ vᵢ), + when the sum is ≥ 0
//	mix    = Σ vᵢ over the i whose vᵢ is non-zero with the elected sign
//	div    = Σ wᵢ over the same i
//	mix    = mix / div   when normalize and div ≠ 0
//	out    = base + float32(λ·mix)
func tiesWeighted(out, base []float32, xs [][]float32, w []float32, lambda float32, normalize bool) {
	kernel.TIESWeighted(out, base, xs, w, lambda, normalize)
}

// tiesPaper is the TIES paper's consensus: per element,
//
//	elect  = sign(Σ xᵢ), unweighted, + when the sum is ≥ 0
//	mix    = Σ float32(wᵢ·xᵢ) over the i whose xᵢ is non-zero with the elected sign
//	mix    = mix / float32(count of those i)   when normalize and the count > 0
//	out    = base + float32(λ·mix)
func tiesPaper(out, base []float32, xs [][]float32, w []float32, lambda float32, normalize bool) {
	kernel.TIESPaper(out, base, xs, w, lambda, normalize)
}
