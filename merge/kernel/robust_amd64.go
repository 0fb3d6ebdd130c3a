//go:build !purego

package kernel

import "math"

// The robust stubs take len(out) a multiple of 16 (AVX512) or 8 (AVX2),
// base as long, every xs[i] at least as long, and 1 ≤ len(xs) ≤
// robustMax[level]; with those, medianAVX512 and medianAVX2 equal
// medianCombineGeneric, trimmedAVX512 and trimmedAVX2 trimmedCombineGeneric
// (for 0 ≤ 2k < len(xs)):
//
//	for j := range out {
//		sortColumn(vals, xs, j) // by key
//		med := vals[n/2]
//		if n%2 == 0 {
//			med = float32(vals[n/2-1]+vals[n/2]) * 0.5
//		}
//		out[j] = base[j] + float32(lambda*med)
//	}
//
//	for j := range out {
//		sortColumn(vals, xs, j)
//		var s float32
//		for _, v := range vals[k : n-k] {
//			s = s + v
//		}
//		out[j] = base[j] + float32(lambda*(s/float32(n-2*k)))
//	}
//
// A block of vectors is sorted by a sorting network on keys; the median
// computes only the comparisons its middle values depend on.
//
//go:noescape
func medianAVX512(out, base []float32, xs [][]float32, lambda float32)

//go:noescape
func medianAVX2(out, base []float32, xs [][]float32, lambda float32)

//go:noescape
func trimmedAVX512(out, base []float32, xs [][]float32, k int, lambda float32)

//go:noescape
func trimmedAVX2(out, base []float32, xs [][]float32, k int, lambda float32)

// robustNetAVX512 and robustNetAVX2 sort a block (16 or 8 elements) of
// every input in scratch (len(xs) vectors) by the comparators of pairs,
// each the byte offsets of its two vectors in scratch, i | j<<16, and
// then equal
//
//	for j := range out {
//		sortColumn(vals, xs, j) // by key
//		s := zero
//		for p := lo; p < hi; p++ {
//			s = s + vals[p]
//		}
//		out[j] = base[j] + float32(lambda*(s/cnt))
//	}
//
// given pairs that sort positions lo to hi−1 of any input (0 ≤ lo < hi ≤
// len(xs)). The trimmed mean is zero = +0, cnt = float32(N−2k); the median
// zero = −0 (−0 + v is v, for every v) and cnt 1, or 2 for an even count
// (s/2 and float32(s)·0.5 are the same rounding of the same value).
//
//go:noescape
func robustNetAVX512(out, base []float32, xs [][]float32, pairs []uint32, scratch []byte, lo, hi int, zero, cnt, lambda float32)

//go:noescape
func robustNetAVX2(out, base []float32, xs [][]float32, pairs []uint32, scratch []byte, lo, hi int, zero, cnt, lambda float32)

// robustMax is the most inputs the register kernels (median…, trimmed…)
// take at each level: their networks' wires live in registers, with one
// more for the exchanges. Up to robustNetMax inputs run robustNet…; more
// run the generic loops.
var robustMax = [...]int{generic: 0, avx2: 15, avx512: 16}

// robustNetMax is the most inputs robustNet… takes: a comparator holds
// the byte offsets of its vectors in 16 bits each.
const robustNetMax = 1024

func medianCombine(out, base []float32, xs [][]float32, lambda float32) {
	n, c := vecLen(len(out)), len(xs)
	switch {
	case n == 0 || c > robustNetMax:
		n = 0
	case c <= robustMax[impl] && impl == avx512:
		medianAVX512(out[:n], base[:n], xs, lambda)
	case c <= robustMax[impl]:
		medianAVX2(out[:n], base[:n], xs, lambda)
	case c%2 == 1:
		robustNet(out[:n], base[:n], xs, c/2, c/2+1, negZero, 1, lambda)
	default:
		robustNet(out[:n], base[:n], xs, c/2-1, c/2+1, negZero, 2, lambda)
	}
	switch {
	case n == 0:
		medianCombineGeneric(out, base, xs, lambda)
	case n < len(out):
		var buf [32][]float32
		medianCombineGeneric(out[n:], base[n:], tails(buf[:0], xs, n), lambda)
	}
}

func trimmedCombine(out, base []float32, xs [][]float32, k int, lambda float32) {
	n, c := vecLen(len(out)), len(xs)
	switch {
	case n == 0 || c > robustNetMax:
		n = 0
	case c <= robustMax[impl] && impl == avx512:
		trimmedAVX512(out[:n], base[:n], xs, k, lambda)
	case c <= robustMax[impl]:
		trimmedAVX2(out[:n], base[:n], xs, k, lambda)
	default:
		robustNet(out[:n], base[:n], xs, k, c-k, 0, float32(c-2*k), lambda)
	}
	switch {
	case n == 0:
		trimmedCombineGeneric(out, base, xs, k, lambda)
	case n < len(out):
		var buf [32][]float32
		trimmedCombineGeneric(out[n:], base[n:], tails(buf[:0], xs, n), k, lambda)
	}
}

// negZero is −0.
var negZero = float32(math.Copysign(0, -1))

// robustNet runs robustNetAVX512 or robustNetAVX2 with Batcher's network
// for len(xs) wires, pruned to positions lo to hi−1.
func robustNet(out, base []float32, xs [][]float32, lo, hi int, zero, cnt, lambda float32) {
	vb := 32
	if impl == avx512 {
		vb = 64
	}
	var pbuf [2048]uint32
	pairs := networkPairs(pbuf[:0], len(xs), lo, hi, vb)
	var sbuf [64 * 64]byte
	scratch := sbuf[:]
	if len(xs)*vb > len(scratch) {
		scratch = make([]byte, len(xs)*vb)
	}
	if impl == avx512 {
		robustNetAVX512(out, base, xs, pairs, scratch, lo, hi, zero, cnt, lambda)
	} else {
		robustNetAVX2(out, base, xs, pairs, scratch, lo, hi, zero, cnt, lambda)
	}
}

// networkPairs appends to dst the comparators of Batcher's odd–even merge
// sort for n wires that positions lo to hi−1 of the output depend on, each
// as i·vb | j·vb<<16 (wire i gets the smaller key).
func networkPairs(dst []uint32, n, lo, hi, vb int) []uint32 {
	start := len(dst)
	for p := 1; p < n; p <<= 1 {
		for k := p; k >= 1; k >>= 1 {
			for j := k % p; j+k < n; j += 2 * k {
				for i := range min(k, n-j-k) {
					if (i+j)/(2*p) == (i+j+k)/(2*p) {
						dst = append(dst, uint32((i+j)*vb|(i+j+k)*vb<<16))
					}
				}
			}
		}
	}
	// From the end, keep a comparator when a kept one or the output
	// reads either of its wires.
	var need [robustNetMax]bool
	for p := lo; p < hi; p++ {
		need[p] = true
	}
	w := len(dst)
	for r := len(dst) - 1; r >= start; r-- {
		i, j := int(dst[r]&0xFFFF)/vb, int(dst[r]>>16)/vb
		if need[i] || need[j] {
			need[i], need[j] = true, true
			w--
			dst[w] = dst[r]
		}
	}
	return append(dst[:start], dst[w:]...)
}
