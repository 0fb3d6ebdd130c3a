//go:build !purego

package kernel

// The TIES stubs take len(out) a multiple of 16 (AVX512) or 8 (AVX2),
// base as long, and every xs[i] at least as long.

// tiesWeightedAVX512 and tiesWeightedAVX2 equal
//
//	for j := range out {
//		var s float32
//		for i, x := range xs {
//			s = s + float32(w[i]*x[j])
//		}
//		var mix, div float32
//		for i, x := range xs {
//			if v := float32(w[i] * x[j]); (s >= 0 && v > 0) || (s < 0 && v < 0) {
//				mix, div = mix+v, div+w[i]
//			}
//		}
//		if normalize && div != 0 {
//			mix = mix / div
//		}
//		out[j] = base[j] + float32(lambda*mix)
//	}
//
//go:noescape
func tiesWeightedAVX512(out, base []float32, xs [][]float32, w []float32, lambda float32, normalize bool)

//go:noescape
func tiesWeightedAVX2(out, base []float32, xs [][]float32, w []float32, lambda float32, normalize bool)

// tiesPaperAVX512 and tiesPaperAVX2 equal
//
//	for j := range out {
//		var s float32
//		for _, x := range xs {
//			s = s + x[j]
//		}
//		var mix float32
//		n := 0
//		for i, x := range xs {
//			if v := x[j]; (s >= 0 && v > 0) || (s < 0 && v < 0) {
//				mix = mix + float32(w[i]*v)
//				n++
//			}
//		}
//		if normalize && n > 0 {
//			mix = mix / float32(n)
//		}
//		out[j] = base[j] + float32(lambda*mix)
//	}
//
//go:noescape
func tiesPaperAVX512(out, base []float32, xs [][]float32, w []float32, lambda float32, normalize bool)

//go:noescape
func tiesPaperAVX2(out, base []float32, xs [][]float32, w []float32, lambda float32, normalize bool)

func tiesWeighted(out, base []float32, xs [][]float32, w []float32, lambda float32, normalize bool) {
	n := vecLen(len(out))
	if impl == avx512 {
		tiesWeightedAVX512(out[:n], base[:n], xs, w, lambda, normalize)
	} else if impl == avx2 {
		tiesWeightedAVX2(out[:n], base[:n], xs, w, lambda, normalize)
	}
	if n < len(out) {
		var buf [16][]float32
		tiesWeightedGeneric(out[n:], base[n:], tails(buf[:0], xs, n), w, lambda, normalize)
	}
}

func tiesPaper(out, base []float32, xs [][]float32, w []float32, lambda float32, normalize bool) {
	n := vecLen(len(out))
	if impl == avx512 {
		tiesPaperAVX512(out[:n], base[:n], xs, w, lambda, normalize)
	} else if impl == avx2 {
		tiesPaperAVX2(out[:n], base[:n], xs, w, lambda, normalize)
	}
	if n < len(out) {
		var buf [16][]float32
		tiesPaperGeneric(out[n:], base[n:], tails(buf[:0], xs, n), w, lambda, normalize)
	}
}

// tails appends xs[i][n:] for every input to dst.
func tails(dst, xs [][]float32, n int) [][]float32 {
	for _, x := range xs {
		dst = append(dst, x[n:])
	}
	return dst
}
