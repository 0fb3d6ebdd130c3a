package kernel

// TIESWeighted is the TIES merge with mergekit's consensus. Per element j,
// with vᵢ = float32(wᵢ·xs[i][j]), inputs in order, every sum from +0:
//
//	elect = sign(Σ vᵢ), + when the sum is ≥ 0
//	mix   = Σ vᵢ over the i whose vᵢ is non-zero with the elected sign
//	div   = Σ wᵢ over the same i
//	mix   = mix / div   when normalize and div ≠ 0
//	out   = base + float32(λ·mix)
//
// It panics unless base and every xs[i] are as long as out and len(w) ==
// len(xs).
func TIESWeighted(out, base []float32, xs [][]float32, w []float32, lambda float32, normalize bool) {
	checkTIES("TIESWeighted", out, base, xs, w)
	tiesWeighted(out, base, xs, w, lambda, normalize)
}

// TIESPaper is the TIES paper's consensus. Per element j:
//
//	elect = sign(Σ xs[i][j]), unweighted, + when the sum is ≥ 0
//	mix   = Σ float32(wᵢ·xs[i][j]) over the i whose value is non-zero with the elected sign
//	mix   = mix / float32(count of those i)   when normalize and the count > 0
//	out   = base + float32(λ·mix)
//
// It panics as TIESWeighted does.
func TIESPaper(out, base []float32, xs [][]float32, w []float32, lambda float32, normalize bool) {
	checkTIES("TIESPaper", out, base, xs, w)
	tiesPaper(out, base, xs, w, lambda, normalize)
}

func checkTIES(op string, out, base []float32, xs [][]float32, w []float32) {
	mustLen(op, len(base), len(out))
	mustLen(op, len(w), len(xs))
	for _, x := range xs {
		mustLen(op, len(x), len(out))
	}
}
