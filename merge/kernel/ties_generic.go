package kernel

// The reference TIES loops (see ties.go). On amd64 the Go compiler orders
// the operands (which decides a NaN result's payload when both are NaN):
// w·x in the election sum, x·w in the mix; s + v, mix + v, div + w,
// mix / div, mix·λ, then product + base.

func tiesWeightedGeneric(out, base []float32, xs [][]float32, w []float32, lambda float32, normalize bool) {
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

func tiesPaperGeneric(out, base []float32, xs [][]float32, w []float32, lambda float32, normalize bool) {
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
