package kernel

// The robust kernels of the median and trimmed_mean merge methods. Per
// element j, the inputs' values xs[0][j] … xs[N−1][j] are sorted ascending
// by their sortable keys
//
//	k(v) = int32(b) ^ int32(uint32(int32(b)>>31)>>1), b = math.Float32bits(v)
//
// compared as signed integers: the magnitude bits of a negative value are
// flipped, which orders −max … −0 +0 … +max (then the NaNs, by their bits,
// at either end by sign). It is a total order in which equal keys are
// equal bits, so the sorted values do not depend on the sort: the generic
// loops sort by insertion, the assembly with sorting networks (see
// _asm/robust).

//go:generate sh -c "cd _asm && go run ./robust -pkg kernel -out ../robust_amd64.s"

// MedianCombine writes, per element j, out[j] = base[j] + float32(λ·med)
// with vals the N = len(xs) values of element j sorted by key and
//
//	med = vals[N/2]                                 N odd
//	med = float32(vals[N/2−1]+vals[N/2]) * 0.5      N even
//
// It panics unless N ≥ 1 and base and every xs[i] are as long as out.
func MedianCombine(out, base []float32, xs [][]float32, lambda float32) {
	checkRobust("MedianCombine", out, base, xs)
	medianCombine(out, base, xs, lambda)
}

// TrimmedCombine writes, per element j, with vals sorted as for
// MedianCombine and the k smallest and k largest dropped,
//
//	s := float32(0)
//	for _, v := range vals[k : N-k] {
//		s = s + v
//	}
//	out[j] = base[j] + float32(lambda*(s/float32(N-2*k)))
//
// It panics unless 0 ≤ 2k < N and base and every xs[i] are as long as out.
func TrimmedCombine(out, base []float32, xs [][]float32, k int, lambda float32) {
	checkRobust("TrimmedCombine", out, base, xs)
	if k < 0 || k >= len(xs)-k {
		panic("kernel: TrimmedCombine: k out of range")
	}
	trimmedCombine(out, base, xs, k, lambda)
}

func checkRobust(op string, out, base []float32, xs [][]float32) {
	if len(xs) == 0 {
		panic("kernel: " + op + ": no inputs")
	}
	mustLen(op, len(base), len(out))
	for _, x := range xs {
		mustLen(op, len(x), len(out))
	}
}
