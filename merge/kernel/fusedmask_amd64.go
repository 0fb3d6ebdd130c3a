//go:build !purego

package kernel

// The masked merge stubs take whole steps: len(dst) a multiple of 32
// (AVX2) or 64 (AVX512) elements of the format, base and every Src as
// long, every Words of a MaskWords input as many elements, Lo and Hi of
// a MaskWindow input within the format's key range and Keep of a MaskDARE2
// input below 2¹⁶, scratch of MaskedScratch float32s per input. Each
// returns what mergeMaskedGeneric returns with m = Merge{Kind: the stub's,
// Div: div, Lambda: lambda, Normalize: normalize} and divide = div != 1,
// and when it returns true, dst holds the same bits (see _asm/masked.go).
// The AVX512 stubs need AVX512DQ (VPMULLQ) as well.
//
// countKeys<F><L> returns, over whole vectors of raw (at most 2¹⁵−1 of
// them for the 16-bit formats), how many keys are at least below and how
// many equal eq, for below within the key range and eq within it or
// 0xFFFF (16-bit) / 0xFFFFFFFF (F32), which no key equals.

//go:noescape
func mergeMaskedSumBF16AVX512(dst, base []byte, ins []MaskedInput, scratch []float32, div, lambda float32, divide, normalize bool) bool

//go:noescape
func mergeMaskedTIESBF16AVX512(dst, base []byte, ins []MaskedInput, scratch []float32, div, lambda float32, divide, normalize bool) bool

//go:noescape
func mergeMaskedPaperBF16AVX512(dst, base []byte, ins []MaskedInput, scratch []float32, div, lambda float32, divide, normalize bool) bool

//go:noescape
func countKeysBF16AVX512(raw []byte, below, eq uint32) (notBelow, equal int)

//go:noescape
func mergeMaskedSumF16AVX512(dst, base []byte, ins []MaskedInput, scratch []float32, div, lambda float32, divide, normalize bool) bool

//go:noescape
func mergeMaskedTIESF16AVX512(dst, base []byte, ins []MaskedInput, scratch []float32, div, lambda float32, divide, normalize bool) bool

//go:noescape
func mergeMaskedPaperF16AVX512(dst, base []byte, ins []MaskedInput, scratch []float32, div, lambda float32, divide, normalize bool) bool

//go:noescape
func countKeysF16AVX512(raw []byte, below, eq uint32) (notBelow, equal int)

//go:noescape
func mergeMaskedSumF32AVX512(dst, base []byte, ins []MaskedInput, scratch []float32, div, lambda float32, divide, normalize bool) bool

//go:noescape
func mergeMaskedTIESF32AVX512(dst, base []byte, ins []MaskedInput, scratch []float32, div, lambda float32, divide, normalize bool) bool

//go:noescape
func mergeMaskedPaperF32AVX512(dst, base []byte, ins []MaskedInput, scratch []float32, div, lambda float32, divide, normalize bool) bool

//go:noescape
func countKeysF32AVX512(raw []byte, below, eq uint32) (notBelow, equal int)

//go:noescape
func mergeMaskedSumBF16AVX2(dst, base []byte, ins []MaskedInput, scratch []float32, div, lambda float32, divide, normalize bool) bool

//go:noescape
func mergeMaskedTIESBF16AVX2(dst, base []byte, ins []MaskedInput, scratch []float32, div, lambda float32, divide, normalize bool) bool

//go:noescape
func mergeMaskedPaperBF16AVX2(dst, base []byte, ins []MaskedInput, scratch []float32, div, lambda float32, divide, normalize bool) bool

//go:noescape
func countKeysBF16AVX2(raw []byte, below, eq uint32) (notBelow, equal int)

//go:noescape
func mergeMaskedSumF16AVX2(dst, base []byte, ins []MaskedInput, scratch []float32, div, lambda float32, divide, normalize bool) bool

//go:noescape
func mergeMaskedTIESF16AVX2(dst, base []byte, ins []MaskedInput, scratch []float32, div, lambda float32, divide, normalize bool) bool

//go:noescape
func mergeMaskedPaperF16AVX2(dst, base []byte, ins []MaskedInput, scratch []float32, div, lambda float32, divide, normalize bool) bool

//go:noescape
func countKeysF16AVX2(raw []byte, below, eq uint32) (notBelow, equal int)

//go:noescape
func mergeMaskedSumF32AVX2(dst, base []byte, ins []MaskedInput, scratch []float32, div, lambda float32, divide, normalize bool) bool

//go:noescape
func mergeMaskedTIESF32AVX2(dst, base []byte, ins []MaskedInput, scratch []float32, div, lambda float32, divide, normalize bool) bool

//go:noescape
func mergeMaskedPaperF32AVX2(dst, base []byte, ins []MaskedInput, scratch []float32, div, lambda float32, divide, normalize bool) bool

//go:noescape
func countKeysF32AVX2(raw []byte, below, eq uint32) (notBelow, equal int)

type maskedFunc func(dst, base []byte, ins []MaskedInput, scratch []float32, div, lambda float32, divide, normalize bool) bool

// maskedFuncs are the stubs by level (0 AVX2, 1 AVX512), format and merge
// kind.
var maskedFuncs = [2][3][3]maskedFunc{
	{
		{mergeMaskedSumBF16AVX2, mergeMaskedTIESBF16AVX2, mergeMaskedPaperBF16AVX2},
		{mergeMaskedSumF16AVX2, mergeMaskedTIESF16AVX2, mergeMaskedPaperF16AVX2},
		{mergeMaskedSumF32AVX2, mergeMaskedTIESF32AVX2, mergeMaskedPaperF32AVX2},
	},
	{
		{mergeMaskedSumBF16AVX512, mergeMaskedTIESBF16AVX512, mergeMaskedPaperBF16AVX512},
		{mergeMaskedSumF16AVX512, mergeMaskedTIESF16AVX512, mergeMaskedPaperF16AVX512},
		{mergeMaskedSumF32AVX512, mergeMaskedTIESF32AVX512, mergeMaskedPaperF32AVX512},
	},
}

var countFuncs = [2][3]func(raw []byte, below, eq uint32) (int, int){
	{countKeysBF16AVX2, countKeysF16AVX2, countKeysF32AVX2},
	{countKeysBF16AVX512, countKeysF16AVX512, countKeysF32AVX512},
}

// simdLevel is the index of the stubs to run (0 AVX2, 1 AVX512), or -1 for
// the generic loops; AVX512 without AVX512DQ runs the AVX2 stubs.
func simdLevel() int {
	switch dareLevel() {
	case avx512:
		return 1
	case avx2:
		return 0
	}
	return -1
}

func mergeMasked(f Format, dst, base []byte, ins []MaskedInput, m Merge, scratch []float32) bool {
	sz := f.Size()
	n := len(dst) / sz
	lv := simdLevel()
	v := 0
	ok := true
	if lv >= 0 {
		step := 32 << lv // stepVecs float32 vectors
		v = n / step * step
		if v > 0 {
			ok = maskedFuncs[lv][int(f)-1][m.Kind](dst[:v*sz], base[:v*sz], ins, scratch, m.Div, m.Lambda, m.Div != 1, m.Normalize)
		}
	}
	if v == n {
		return ok
	}
	var buf [16]MaskedInput
	tail := append(buf[:0], ins...)
	for k := range tail {
		in := &tail[k]
		in.Src = in.Src[v*sz:]
		if in.Kind == MaskWords {
			in.Words = in.Words[v:]
		}
		in.Z += uint64(v/4) * dareGamma
	}
	return mergeMaskedGeneric(f, dst[v*sz:], base[v*sz:], tail, m, scratch) && ok
}

// countCalls bounds the vectors of one countKeys call for the 16-bit
// formats, whose AVX2 counts are 16-bit lanes.
const countCalls = 1<<15 - 1

func countKeys(f Format, raw []byte, below, eq uint32) (int, int) {
	lv := simdLevel()
	if lv < 0 {
		return countKeysGeneric(f, raw, below, eq)
	}
	sz := f.Size()
	end, none := uint32(1<<15), uint32(0xFFFF)
	if f == F32 {
		end, none = 1<<31, 0xFFFFFFFF
	}
	below = min(below, end)
	if eq >= end {
		eq = none
	}
	vec := 32 << lv
	nb, ne := 0, 0
	for {
		m := min(len(raw), countCalls*vec) / vec * vec
		if m == 0 {
			break
		}
		gb, ge := countFuncs[lv][int(f)-1](raw[:m], below, eq)
		nb, ne = nb+m/sz-gb, ne+ge
		raw = raw[m:]
	}
	tb, te := countKeysGeneric(f, raw, below, eq)
	return nb + tb, ne + te
}
