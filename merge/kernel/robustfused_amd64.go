//go:build !purego

package kernel

// The fused robust stubs take whole vectors (len(dst) a multiple of 16
// AVX512 or 8 AVX2 elements of the format), 1 ≤ len(xs) ≤
// RobustEncodedMax inputs as long as dst, and for trimmedEnc 0 ≤ 2k <
// len(xs) (medianEnc ignores k). Each returns what robustEncodedGeneric
// returns with the same k (−1 for the median), and when it returns true dst
// holds the same bits (see _asm/robustfused.go).

//go:noescape
func medianEncBF16AVX512(dst, base []byte, xs [][]byte, k int, lambda float32) bool

//go:noescape
func trimmedEncBF16AVX512(dst, base []byte, xs [][]byte, k int, lambda float32) bool

//go:noescape
func medianEncF16AVX512(dst, base []byte, xs [][]byte, k int, lambda float32) bool

//go:noescape
func trimmedEncF16AVX512(dst, base []byte, xs [][]byte, k int, lambda float32) bool

//go:noescape
func medianEncF32AVX512(dst, base []byte, xs [][]byte, k int, lambda float32) bool

//go:noescape
func trimmedEncF32AVX512(dst, base []byte, xs [][]byte, k int, lambda float32) bool

//go:noescape
func medianEncBF16AVX2(dst, base []byte, xs [][]byte, k int, lambda float32) bool

//go:noescape
func trimmedEncBF16AVX2(dst, base []byte, xs [][]byte, k int, lambda float32) bool

//go:noescape
func medianEncF16AVX2(dst, base []byte, xs [][]byte, k int, lambda float32) bool

//go:noescape
func trimmedEncF16AVX2(dst, base []byte, xs [][]byte, k int, lambda float32) bool

//go:noescape
func medianEncF32AVX2(dst, base []byte, xs [][]byte, k int, lambda float32) bool

//go:noescape
func trimmedEncF32AVX2(dst, base []byte, xs [][]byte, k int, lambda float32) bool

// robustEncFuncs are the stubs by level (0 AVX2, 1 AVX512), format and
// method (0 median, 1 trimmed mean).
var robustEncFuncs = [2][3][2]func(dst, base []byte, xs [][]byte, k int, lambda float32) bool{
	{
		{medianEncBF16AVX2, trimmedEncBF16AVX2},
		{medianEncF16AVX2, trimmedEncF16AVX2},
		{medianEncF32AVX2, trimmedEncF32AVX2},
	},
	{
		{medianEncBF16AVX512, trimmedEncBF16AVX512},
		{medianEncF16AVX512, trimmedEncF16AVX512},
		{medianEncF32AVX512, trimmedEncF32AVX512},
	},
}

func robustEncoded(f Format, dst, base []byte, srcs [][]byte, k int, lambda float32) bool {
	lv := -1
	switch impl {
	case avx512:
		lv = 1
	case avx2:
		lv = 0
	}
	if lv < 0 || len(srcs) > RobustEncodedMax {
		return robustEncodedGeneric(f, dst, base, srcs, k, lambda)
	}
	sz := f.Size()
	v := len(dst) / sz / (8 << lv) * (8 << lv) * sz
	ok := true
	if v > 0 {
		m := 0
		if k >= 0 {
			m = 1
		}
		ok = robustEncFuncs[lv][int(f)-1][m](dst[:v], base[:v], srcs, k, lambda)
	}
	if v < len(dst) {
		var buf [RobustEncodedMax][]byte
		ok = robustEncodedGeneric(f, dst[v:], base[v:], byteTails(buf[:0], srcs, v), k, lambda) && ok
	}
	return ok
}
