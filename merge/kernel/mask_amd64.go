//go:build !purego

package kernel

import (
	"math"
	"unsafe"

	"golang.org/x/sys/cpu"
)

// Each stub takes whole vectors: lengths a multiple of 16 (AVX512) or 8
// (AVX2), except dareMask, sumAbsLanes and dotLanes: a multiple of 8 at
// both levels (8 uint64 or float64 lanes).

// dareMaskAVX2 equals, with z = dareBase(key, off) and keep < 2⁵³,
//
//	for i := range x {
//		if splitMix(z+uint64(i)*dareGamma)>>11 >= keep {
//			x[i] = 0
//		}
//	}
//
// and dareMaskAVX512 the same with lim = keep<<11 in place of keep and
// splitMix(…) >= lim the test. dareMaskAVX512 needs AVX512DQ (VPMULLQ),
// which the avx512 level requires too; dareLevel checks it again, so this
// kernel stays safe should the level ever stop requiring it.
//
//go:noescape
func dareMaskAVX512(x []float32, z uint64, lim uint64)

//go:noescape
func dareMaskAVX2(x []float32, z uint64, keep uint64)

// dareMask2AVX512 and dareMask2AVX2 equal, for keep < 2¹⁶ and len(x) a
// multiple of 32 (AVX512) or 16 (AVX2),
//
//	for i := range x {
//		d := splitMix(z + uint64(i/4)*dareGamma)
//		if uint32(d>>(16*(i%4)))&0xFFFF >= keep {
//			x[i] = 0
//		}
//	}
//
// dareMask2AVX512 needs AVX512DQ, as dareMaskAVX512 does.
//
//go:noescape
func dareMask2AVX512(x []float32, z uint64, keep uint32)

//go:noescape
func dareMask2AVX2(x []float32, z uint64, keep uint32)

// maskBetweenAVX512 and maskBetweenAVX2 equal
//
//	for i, v := range x {
//		if int32(math.Float32bits(v)&0x7FFFFFFF+add) >= int32(lim) {
//			x[i] = 0
//		}
//	}
//
//go:noescape
func maskBetweenAVX512(x []float32, add uint32, lim uint32)

//go:noescape
func maskBetweenAVX2(x []float32, add uint32, lim uint32)

// countKeyAVX512 and countKeyAVX2 equal countKeyGeneric, for len(x) < 2³¹.
//
//go:noescape
func countKeyAVX512(x []float32, key uint32) int

//go:noescape
func countKeyAVX2(x []float32, key uint32) int

// firstInBinsAVX2 returns the byte offset of the first 128-byte block of
// raw (len(raw) a multiple of 128) holding a float32 whose magnitude key's
// high 16 bits are b0 or b1, or len(raw) when none does.
//
//go:noescape
func firstInBinsAVX2(raw []byte, b0, b1 uint32) int

// dare2L1BF16AVX2 and dare2L1F32AVX2 equal dare2L1Generic(f, raw, key, e,
// keep, &acc[0:8], &acc[8:16]) for e a multiple of 8, z = key +
// (e>>2+1)·γ, keep < 2¹⁶ and len(raw) a whole number of 16-element blocks
// (the sums are partial when they return false).
//
//go:noescape
func dare2L1BF16AVX2(raw []byte, z uint64, keep uint32, acc *[16]float64) bool

//go:noescape
func dare2L1F32AVX2(raw []byte, z uint64, keep uint32, acc *[16]float64) bool

// sumAbsLanesAVX2 equals sumAbsLanesGeneric(acc, 0, x). It runs at the
// avx512 level too: the lane sums are bound by the latency of each lane's
// chain of adds, which two ymm accumulators meet as well as one zmm (and
// better on Zen 4, where 512-bit adds are double-pumped).
//
//go:noescape
func sumAbsLanesAVX2(acc *[8]float64, x []float32)

// dotLanesAVX2 equals dotLanesGeneric(acc, 0, a, b), for len(b) == len(a),
// at both levels as sumAbsLanesAVX2.
//
//go:noescape
func dotLanesAVX2(acc *[8]float64, a []float32, b []float32)

// dotPairs<g>AVX2 equals dotPairsGeneric(acc, 0, as, bs) for g pairs, acc
// the pairs' 8·g lanes one after the other, ptrs as[0], bs[0], as[1], …
// the pairs' data and n (a multiple of 8) their length, at both levels as
// dotLanesAVX2.
//
//go:noescape
func dotPairs1AVX2(acc *float64, ptrs **float32, n int)

//go:noescape
func dotPairs2AVX2(acc *float64, ptrs **float32, n int)

//go:noescape
func dotPairs3AVX2(acc *float64, ptrs **float32, n int)

//go:noescape
func dotPairs4AVX2(acc *float64, ptrs **float32, n int)

var dotPairsFuncs = [...]func(acc *float64, ptrs **float32, n int){dotPairs1AVX2, dotPairs2AVX2, dotPairs3AVX2, dotPairs4AVX2}

func dotPairs(acc []*[8]float64, lane int, as, bs [][]float32) {
	if impl == generic || len(acc) == 0 {
		dotPairsGeneric(acc, lane, as, bs)
		return
	}
	n0 := len(as[0])
	h := laneHead(lane, n0)
	n := (n0 - h) &^ 7
	var lanes [8 * len(dotPairsFuncs)]float64
	var ptrs [2 * len(dotPairsFuncs)]*float32
	for p := 0; p < len(acc); p += len(dotPairsFuncs) {
		g := min(len(dotPairsFuncs), len(acc)-p)
		for q := range g {
			dotLanesGeneric(acc[p+q], lane, as[p+q][:h], bs[p+q][:h])
			copy(lanes[8*q:8*q+8], acc[p+q][:])
			if n > 0 {
				ptrs[2*q], ptrs[2*q+1] = &as[p+q][h], &bs[p+q][h]
			}
		}
		if n > 0 {
			dotPairsFuncs[g-1](&lanes[0], &ptrs[0], n)
		}
		for q := range g {
			copy(acc[p+q][:], lanes[8*q:8*q+8])
			dotLanesGeneric(acc[p+q], 0, as[p+q][h+n:], bs[p+q][h+n:])
		}
	}
}

// gram<k><f>AVX2 equals gramGeneric(acc, 0, xs) for the k ≤ gramMax
// inputs xs encoded in f (float32 or bfloat16) and finite, acc the k(k+1)/2
// pairs' lanes one after the other, ptrs the inputs' data and n (a
// multiple of 8) their length, at both levels as dotLanesAVX2 (the FMA
// ports bind it, and 512-bit FMAs take them twice on Zen 4).
//
//go:noescape
func gram1F32AVX2(acc *float64, ptrs **byte, n int)

//go:noescape
func gram2F32AVX2(acc *float64, ptrs **byte, n int)

//go:noescape
func gram3F32AVX2(acc *float64, ptrs **byte, n int)

//go:noescape
func gram4F32AVX2(acc *float64, ptrs **byte, n int)

//go:noescape
func gram1BF16AVX2(acc *float64, ptrs **byte, n int)

//go:noescape
func gram2BF16AVX2(acc *float64, ptrs **byte, n int)

//go:noescape
func gram3BF16AVX2(acc *float64, ptrs **byte, n int)

//go:noescape
func gram4BF16AVX2(acc *float64, ptrs **byte, n int)

// gramMax is the most inputs one gram kernel takes, gramPairs their pairs.
const (
	gramMax   = GramEncodedMax
	gramPairs = gramMax * (gramMax + 1) / 2
)

var gramFuncs = map[Format][gramMax]func(acc *float64, ptrs **byte, n int){
	F32:  {gram1F32AVX2, gram2F32AVX2, gram3F32AVX2, gram4F32AVX2},
	BF16: {gram1BF16AVX2, gram2BF16AVX2, gram3BF16AVX2, gram4BF16AVX2},
}

// gramBlock is the most elements one gram kernel call takes: with 4
// inputs it goes over them twice (lanes 0–3, then 4–7), and their 32 KiB
// of float32 stay in L1 between the two.
const gramBlock = 2048

// gramRun runs the gram kernel of format f over n elements (a multiple of
// 8) of the inputs at ptrs, lane 0 first, adding to acc (the inputs' pairs
// in Gram's order).
func gramRun(f Format, acc []*[8]float64, ptrs []unsafe.Pointer, n int) {
	if n == 0 {
		return
	}
	var lanes [8 * gramPairs]float64
	for p, a := range acc {
		copy(lanes[8*p:8*p+8], a[:])
	}
	var at [gramMax]*byte
	run, sz := gramFuncs[f][len(ptrs)-1], f.Size()
	for s := 0; s < n; s += gramBlock {
		for i, ptr := range ptrs {
			at[i] = (*byte)(unsafe.Add(ptr, s*sz)) // never past the end: the GC would see it
		}
		run(&lanes[0], &at[0], min(gramBlock, n-s))
	}
	for p, a := range acc {
		copy(a[:], lanes[8*p:8*p+8])
	}
}

// pairIndex is the index of pair (i, j), i ≤ j, in Gram's order for k
// inputs.
func pairIndex(k, i, j int) int { return i*k - i*(i-1)/2 + j - i }

func gram(acc []*[8]float64, lane int, xs [][]float32) {
	k := len(xs)
	if impl == generic || k == 0 {
		gramGeneric(acc, lane, xs)
		return
	}
	// The pairs among the first gramMax inputs go through the kernel;
	// those of any further inputs through dotPairs.
	g := min(k, gramMax)
	var sub [gramPairs]*[8]float64
	q := 0
	for i := range g {
		for j := i; j < g; j++ {
			sub[q] = acc[pairIndex(k, i, j)]
			q++
		}
	}
	n0 := len(xs[0])
	h := laneHead(lane, n0)
	n := (n0 - h) &^ 7
	var part [gramMax][]float32
	var ptrs [gramMax]unsafe.Pointer
	for i := range g {
		part[i] = xs[i][:h]
		if n > 0 {
			ptrs[i] = unsafe.Pointer(&xs[i][h])
		}
	}
	gramGeneric(sub[:q], lane, part[:g])
	gramRun(F32, sub[:q], ptrs[:g], n)
	for i := range g {
		part[i] = xs[i][h+n:]
	}
	gramGeneric(sub[:q], 0, part[:g])
	if k > g {
		var rest []*[8]float64
		var as, bs [][]float32
		for i := range k {
			for j := max(i, g); j < k; j++ {
				rest, as, bs = append(rest, acc[pairIndex(k, i, j)]), append(as, xs[i]), append(bs, xs[j])
			}
		}
		dotPairs(rest, lane, as, bs)
	}
}

func gramEncoded(f Format, acc []*[8]float64, lane int, raws [][]byte) bool {
	k := len(raws)
	if impl == generic || f == F16 || k == 0 || !squaresFinite(acc, k) {
		// Half is widened faster by half's kernels; a sum already not
		// finite would hide the kernel's sign of a value that is not.
		return gramEncodedGeneric(f, acc, lane, raws)
	}
	sz := f.Size()
	n0 := len(raws[0]) / sz
	h := laneHead(lane, n0)
	n := (n0 - h) &^ 7
	var part [gramMax][]byte
	var ptrs [gramMax]unsafe.Pointer
	for i, r := range raws {
		part[i] = r[:h*sz]
		if n > 0 {
			ptrs[i] = unsafe.Pointer(&r[h*sz])
		}
	}
	if !gramEncodedGeneric(f, acc, lane, part[:k]) {
		return false
	}
	gramRun(f, acc, ptrs[:k], n)
	// A value that is not finite leaves its square's lane sum not finite
	// (finite squares, below 2²⁵⁶, cannot add up to ∞ in float64): the
	// kernel need not look at the values itself.
	if !squaresFinite(acc, k) {
		return false
	}
	for i, r := range raws {
		part[i] = r[(h+n)*sz:]
	}
	return gramEncodedGeneric(f, acc, 0, part[:k])
}

// squaresFinite reports whether every lane of the k inputs' squares (pairs
// (i, i) in Gram's order) is finite.
func squaresFinite(acc []*[8]float64, k int) bool {
	for i := range k {
		for _, v := range acc[pairIndex(k, i, i)] {
			if math.IsInf(v, 0) || math.IsNaN(v) {
				return false
			}
		}
	}
	return true
}

// hasDQ reports AVX512DQ, which the AVX-512 dareMask needs (a variable so
// a test can take it away).
var hasDQ = cpu.X86.HasAVX512DQ

// dareLevel is the level dareMask runs at: impl, but avx2 in place of
// avx512 without AVX512DQ.
func dareLevel() level {
	if impl == avx512 && !hasDQ {
		return avx2
	}
	return impl
}

func dareMask(x []float32, key uint64, off int64, keep uint64) {
	if keep >= 1<<53 {
		return // every draw u < 2⁵³ is kept
	}
	n := 0
	switch dareLevel() {
	case avx512:
		n = len(x) &^ 7
		dareMaskAVX512(x[:n], dareBase(key, off), keep<<11)
	case avx2:
		n = len(x) &^ 7
		dareMaskAVX2(x[:n], dareBase(key, off), keep)
	}
	dareMaskGeneric(x[n:], key, off+int64(n), keep)
}

func dareMask2(x []float32, key uint64, e uint64, keep uint32) {
	if keep >= 1<<16 {
		return // every u < 2¹⁶ is kept
	}
	if e > math.MaxUint64-uint64(len(x)) {
		// e wraps to 0 inside x: e>>2 drops back too, where the
		// assembly's counters would run on.
		dareMask2Generic(x, key, e, keep)
		return
	}
	h := min(int(-e&3), len(x)) // the assembly starts on a draw
	dareMask2Generic(x[:h], key, e, keep)
	x, e = x[h:], e+uint64(h)
	n := 0
	switch dareLevel() {
	case avx512:
		n = len(x) &^ 31
		dareMask2AVX512(x[:n], key+(e>>2+1)*dareGamma, keep)
	case avx2:
		n = len(x) &^ 15
		dareMask2AVX2(x[:n], key+(e>>2+1)*dareGamma, keep)
	}
	dareMask2Generic(x[n:], key, e+uint64(n), keep)
}

func maskBetween(x []float32, lo, hi int64) {
	n := vecLen(len(x))
	// With the bounds clamped to [0, 2³¹], lo ≤ k < hi is the unsigned
	// k − lo < hi − lo (nothing when hi ≤ lo): the signed compare of both
	// sides offset by 2³¹.
	l, h := keyBound(lo), keyBound(hi)
	add, lim := uint32(1<<31-l), uint32(max(h-l, 0))^1<<31
	if impl == avx512 {
		maskBetweenAVX512(x[:n], add, lim)
	} else if impl == avx2 {
		maskBetweenAVX2(x[:n], add, lim)
	}
	maskBetweenGeneric(x[n:], lo, hi)
}

func dare2L1(f Format, raw []byte, key, e uint64, keep uint32, before, after *[8]float64) bool {
	if impl == generic || f == F16 || keep >= 1<<16 {
		return dare2L1Generic(f, raw, key, e, keep, before, after)
	}
	sz := f.Size()
	h := min(int(-e&7), len(raw)/sz) // the assembly starts on lane 0
	if !dare2L1Generic(f, raw[:h*sz], key, e, keep, before, after) {
		return false
	}
	raw, e = raw[h*sz:], e+uint64(h)
	n := len(raw) / sz &^ 15
	if n > 0 {
		var acc [16]float64
		copy(acc[:8], before[:])
		copy(acc[8:], after[:])
		run := dare2L1BF16AVX2
		if f == F32 {
			run = dare2L1F32AVX2
		}
		ok := run(raw[:n*sz], key+(e>>2+1)*dareGamma, keep, &acc)
		copy(before[:], acc[:8])
		copy(after[:], acc[8:])
		if !ok {
			return false
		}
	}
	return dare2L1Generic(f, raw[n*sz:], key, e+uint64(n), keep, before, after)
}

func firstInBins(raw []byte, b0, b1 uint32) int {
	at := 0
	if impl != generic {
		whole := len(raw) &^ 127
		at = firstInBinsAVX2(raw[:whole], b0, b1)
	}
	return at/4 + firstInBinsGeneric(raw[at:], b0, b1)
}

func countKey(x []float32, key uint32) int {
	c := 0
	for impl != generic {
		m := vecLen(min(len(x), countChunk))
		if m == 0 {
			break
		}
		if impl == avx512 {
			c += countKeyAVX512(x[:m], key)
		} else {
			c += countKeyAVX2(x[:m], key)
		}
		x = x[m:]
	}
	return c + countKeyGeneric(x, key)
}

// laneHead is the number of elements of an n-element slice whose first
// goes to lane lane that come before the first to go to lane 0 (all n
// when none does).
func laneHead(lane, n int) int { return min(-lane&7, n) }

func sumAbsLanes(acc *[8]float64, lane int, x []float32) {
	if impl == generic {
		sumAbsLanesGeneric(acc, lane, x)
		return
	}
	h := laneHead(lane, len(x))
	sumAbsLanesGeneric(acc, lane, x[:h])
	x = x[h:]
	n := len(x) &^ 7
	sumAbsLanesAVX2(acc, x[:n])
	sumAbsLanesGeneric(acc, 0, x[n:])
}

func dotLanes(acc *[8]float64, lane int, a, b []float32) {
	if impl == generic {
		dotLanesGeneric(acc, lane, a, b)
		return
	}
	b = b[:len(a)]
	h := laneHead(lane, len(a))
	dotLanesGeneric(acc, lane, a[:h], b[:h])
	a, b = a[h:], b[h:]
	n := len(a) &^ 7
	dotLanesAVX2(acc, a[:n], b[:n])
	dotLanesGeneric(acc, 0, a[n:], b[n:])
}
