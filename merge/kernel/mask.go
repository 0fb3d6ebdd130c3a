package kernel

// The masking kernels of the sparsifying merge methods (DARE's random drop,
// the magnitude methods' keep-between-cuts) and the lane-wise float64
// reductions the engine uses for norms and dot products.
//
// A magnitude key is the bits of a float32 without its sign,
// bits & 0x7FFFFFFF: keys order finite values by magnitude, above them
// ±Inf (0x7F800000) and then the NaNs.

//go:generate sh -c "cd _asm && go run ./masks -pkg kernel -out ../mask_amd64.s"

// countChunk is the most elements one call of CountKey's assembly takes,
// so that its 32-bit lane counts cannot overflow (a variable for tests).
var countChunk = 1 << 30

// dareGamma is SplitMix64's increment γ.
const dareGamma = 0x9E3779B97F4A7C15

// DAREMask drops elements at random from a counter-based generator: element
// i of x (element off+i of its tensor) draws
//
//	z := key + uint64(off+int64(i)+1)*0x9E3779B97F4A7C15
//	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
//	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
//	z ^= z >> 31
//	u := z >> 11 // uniform in [0, 2⁵³)
//
// (SplitMix64's finaliser: with key 0 and off 0, z is SplitMix64's output
// number i+1 from seed 0) and is set to +0 when u ≥ keep, left as it is
// otherwise. Keep probability p is keep = ⌈p·2⁵³⌉: u < keep exactly when
// float64(u) < p·2⁵³. All arithmetic wraps, so any off is valid.
func DAREMask(x []float32, key uint64, off int64, keep uint64) {
	dareMask(x, key, off, keep)
}

// DAREMask2 is the second random-mask scheme: one SplitMix64 draw decides
// four elements. Element e = off+i (as a uint64, wrapping) draws
//
//	z := key + (e>>2 + 1)*0x9E3779B97F4A7C15
//	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
//	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
//	z ^= z >> 31
//	u := uint32(z>>(16*(e&3))) & 0xFFFF // uniform in [0, 2¹⁶)
//
// (the 16-bit field e mod 4 of SplitMix64's output number e/4+1 from key)
// and is set to +0 when u ≥ keep, left as it is otherwise: it is kept with
// probability keep/2¹⁶, and keep ≥ 2¹⁶ keeps every element.
func DAREMask2(x []float32, key uint64, off int64, keep uint32) {
	dareMask2(x, key, uint64(off), keep)
}

// DARE2Uniform is element e's 16-bit uniform u in DAREMask2's scheme.
func DARE2Uniform(key uint64, e uint64) uint32 {
	return uint32(splitMix(key+(e>>2+1)*dareGamma)>>(16*(e&3))) & 0xFFFF
}

// MaskBetween keeps the elements whose magnitude key k has lo ≤ k < hi and
// clears the others to +0. lo and hi may be any values: lo ≤ 0 is no lower
// bound, hi ≥ 2³¹ (2³² by convention) no upper bound, and lo ≥ hi or
// lo ≥ 2³¹ keeps nothing.
func MaskBetween(x []float32, lo, hi int64) { maskBetween(x, lo, hi) }

// CountKey returns the number of elements of x whose magnitude key is key
// (none when key ≥ 2³¹).
func CountKey(x []float32, key uint32) int { return countKey(x, key) }

// DARE2L1 adds, in float64, each element's |x| (raw holds elements e, e+1,
// … of a tensor, encoded in f) to lane (e+i) mod 8 of before and, when
// DAREMask2's draw with key keeps it (u < keep), to the same lane of after:
// a DARE input's L1 norms before and after its mask in one pass over its
// encoded bytes, each lane adding its elements in order, as SumAbsLanes
// over the widened values and again over the masked ones would. It
// reports false, the sums then partial, at a value that is not finite.
func DARE2L1(f Format, raw []byte, key uint64, e uint64, keep uint32, before, after *[8]float64) bool {
	return dare2L1(f, raw, key, e, keep, before, after)
}

// FirstInBins returns the index of the first element of raw, little-endian
// float32s, whose magnitude key's high 16 bits are b0 or b1
// ((bits&0x7FFFFFFF)>>16), or len(raw)/4 when none is: a magnitude cut's
// second pass counts only the elements in its bin, a few in a thousand.
func FirstInBins(raw []byte, b0, b1 uint32) int { return firstInBins(raw, b0, b1) }

// SumAbsLanes adds |x[i]| to lane (lane+i) mod 8 of acc, in float64:
//
//	for i, v := range x {
//		acc[(lane+i)&7] += math.Abs(float64(v))
//	}
//
// Each lane adds its elements in order, so the sums do not depend on the
// implementation; lane may be any int (lane & 7 is what counts).
func SumAbsLanes(acc *[8]float64, lane int, x []float32) { sumAbsLanes(acc, lane, x) }

// DotPairs is DotLanes for several pairs at once: for each p,
// DotLanes(acc[p], lane, as[p], bs[p]), with the same bits. It panics
// unless acc, as and bs are as long and every as[p] and bs[p] as long as
// as[0].
func DotPairs(acc []*[8]float64, lane int, as, bs [][]float32) {
	mustLen("DotPairs", len(as), len(acc))
	mustLen("DotPairs", len(bs), len(acc))
	for p := range as {
		mustLen("DotPairs", len(as[p]), len(as[0]))
		mustLen("DotPairs", len(bs[p]), len(as[0]))
	}
	dotPairs(acc, lane, as, bs)
}

// GramEncodedMax is the most inputs GramEncoded takes.
const GramEncodedMax = 4

// Gram is DotPairs over every pair i ≤ j of xs, in the order (0,0), (0,1),
// …, (0,k−1), (1,1), (1,2), …, (k−1,k−1): acc[p] takes the p-th pair's
// lane sums, with DotPairs' bits. A Gram matrix's pairs share their
// inputs, and DotPairs widens each element once for every pair it is in
// (k+1 times); Gram widens it once. It panics unless len(acc) is
// k(k+1)/2 and every xs[i] is as long as xs[0].
func Gram(acc []*[8]float64, lane int, xs [][]float32) {
	mustLen("Gram", len(acc), len(xs)*(len(xs)+1)/2)
	for _, x := range xs {
		mustLen("Gram", len(x), len(xs[0]))
	}
	gram(acc, lane, xs)
}

// GramEncoded is Gram over at most GramEncodedMax inputs encoded in f,
// raws[i] input i's bytes: the same bits as Gram over the widened values,
// without widening them into memory. It reports false, the sums then
// partial, when a value is not finite. It panics unless every raws[i] is
// as long as raws[0], a whole number of elements, and len(acc) is
// k(k+1)/2 for k = len(raws) ≤ GramEncodedMax.
func GramEncoded(f Format, acc []*[8]float64, lane int, raws [][]byte) bool {
	if len(raws) > GramEncodedMax {
		panic("kernel: GramEncoded: too many inputs")
	}
	mustLen("GramEncoded", len(acc), len(raws)*(len(raws)+1)/2)
	for _, r := range raws {
		mustLen("GramEncoded", len(r), len(raws[0]))
	}
	if len(raws) > 0 {
		mustLen("GramEncoded", len(raws[0])%f.Size(), 0)
	}
	return gramEncoded(f, acc, lane, raws)
}

// DotLanes adds a[i]·b[i] to lane (lane+i) mod 8 of acc, in float64:
//
//	for i := range a {
//		acc[(lane+i)&7] += float64(float64(a[i]) * float64(b[i]))
//	}
//
// The product of two float32s is exact in float64, so it does not matter
// whether the multiply and add are fused; they are not. It panics unless
// len(a) == len(b).
func DotLanes(acc *[8]float64, lane int, a, b []float32) {
	mustLen("DotLanes", len(b), len(a))
	dotLanes(acc, lane, a, b)
}
