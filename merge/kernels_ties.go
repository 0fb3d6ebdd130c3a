package merge

// The sign-consensus kernels (TIES and the methods built on it). xs[i] is
// input i's chunk after trimming, w[i] its weight; inputs are taken in
// recipe order, every sum starts from +0 and rounds each step to float32,
// and each product is rounded before it is added (no fused multiply-add).

// tiesWeighted is mergekit's consensus: per element, with vᵢ = float32(wᵢ·xᵢ),
//
//	elect  = sign(Σ vᵢ), + when the sum is ≥ 0
//	mix    = Σ vᵢ over the i whose vᵢ is non-zero with the elected sign
//	div    = Σ wᵢ over the same i
//	mix    = mix / div   when normalize and div ≠ 0
//	out    = base + float32(λ·mix)
func tiesWeighted(out, base []float32, xs [][]float32, w []float32, lambda float32, normalize bool) {
	for j := range out {
		var s float32
		for i, x := range xs {
			s = s + float32(w[i]*x[j])
		}
		var mix, div float32
		for i, x := range xs {
			if v := float32(w[i] * x[j]); (s >= 0 && v > 0) || (s < 0 && v < 0) {
				mix, div = mix+v, div+w[i]
			}
		}
		if normalize && div != 0 {
			mix = mix / div
		}
		out[j] = base[j] + float32(lambda*mix)
	}
}

// tiesPaper is the TIES paper's consensus: per element,
//
//	elect  = sign(Σ xᵢ), unweighted, + when the sum is ≥ 0
//	mix    = Σ float32(wᵢ·xᵢ) over the i whose xᵢ is non-zero with the elected sign
//	mix    = mix / float32(count of those i)   when normalize and the count > 0
//	out    = base + float32(λ·mix)
func tiesPaper(out, base []float32, xs [][]float32, w []float32, lambda float32, normalize bool) {
	for j := range out {
		var s float32
		for _, x := range xs {
			s = s + x[j]
		}
		var mix float32
		n := 0
		for i, x := range xs {
			if v := x[j]; (s >= 0 && v > 0) || (s < 0 && v < 0) {
				mix = mix + float32(w[i]*v)
				n++
			}
		}
		if normalize && n > 0 {
			mix = mix / float32(n)
		}
		out[j] = base[j] + float32(lambda*mix)
	}
}
