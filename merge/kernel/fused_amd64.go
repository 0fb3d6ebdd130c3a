//go:build !purego

package kernel

import "unsafe"

// The fused stubs take whole vectors: len(dst) a multiple of 16 (AVX512) or
// 8 (AVX2) elements of the format, base as long, every srcs[k] at least as
// long and len(w) == len(srcs). Each returns whether every output it wrote
// is finite in its format; that is also whether every input it read is
// finite, since a non-finite input makes its element's output non-finite
// (see _asm/fused.go).
//
// sumScaled<F><L> equals, with widen and narrow those of format F,
//
//	ok := true
//	for j := range dst (element by element) {
//		var acc float32
//		for k, s := range srcs {
//			acc = float32(widen(s[j])*w[k]) + acc
//		}
//		if divide {
//			acc = acc / div
//		}
//		dst[j] = narrow(float32(acc*lambda) + widen(base[j]))
//		ok = ok && dst[j] is finite in F
//	}
//	return ok
//
// and sumLinear<F><L>, with b = widen(base[j]),
//
//	acc = float32((widen(s[j])+b)*w[k]) + acc   for k in order
//	dst[j] = narrow(acc)
//
// The bits are those of sumScaledGeneric and sumLinearGeneric with
// divide = div != 1, except NaN payloads (the package doc's rule).

//go:noescape
func sumScaledBF16AVX512(dst, base []byte, srcs [][]byte, w []float32, div, lambda float32, divide bool) bool

//go:noescape
func sumScaledBF16AVX2(dst, base []byte, srcs [][]byte, w []float32, div, lambda float32, divide bool) bool

//go:noescape
func sumScaledF16AVX512(dst, base []byte, srcs [][]byte, w []float32, div, lambda float32, divide bool) bool

//go:noescape
func sumScaledF16AVX2(dst, base []byte, srcs [][]byte, w []float32, div, lambda float32, divide bool) bool

//go:noescape
func sumScaledF32AVX512(dst, base []byte, srcs [][]byte, w []float32, div, lambda float32, divide bool) bool

//go:noescape
func sumScaledF32AVX2(dst, base []byte, srcs [][]byte, w []float32, div, lambda float32, divide bool) bool

//go:noescape
func sumLinearBF16AVX512(dst, base []byte, srcs [][]byte, w []float32) bool

//go:noescape
func sumLinearBF16AVX2(dst, base []byte, srcs [][]byte, w []float32) bool

//go:noescape
func sumLinearF16AVX512(dst, base []byte, srcs [][]byte, w []float32) bool

//go:noescape
func sumLinearF16AVX2(dst, base []byte, srcs [][]byte, w []float32) bool

//go:noescape
func sumLinearF32AVX512(dst, base []byte, srcs [][]byte, w []float32) bool

//go:noescape
func sumLinearF32AVX2(dst, base []byte, srcs [][]byte, w []float32) bool

// f32Wide reports whether the float32 sums take the AVX-512 kernels on a
// CPU that has both: only when every stream starts at the same offset in
// its page. Measured on a Zen 4 (BenchmarkSumScaled and SumLinear, 64 Mi
// elements, 4 inputs): with the streams at different page offsets, as the
// tensors of different files are, the AVX2 kernels ran at 1.05-1.23 of
// XorN and the AVX-512 ones at 0.82-0.94 (potluck bench, f32
// task_arithmetic: 0.87-1.01 of the ceiling against 0.69-1.09); with every
// stream at one page offset (same-sized buffers allocated one after
// another) AVX-512 ran at 1.13-1.17 and AVX2 at 0.76-0.83. Both give the
// generic loop's bits. The 16-bit formats gain from AVX-512 either way.
func f32Wide(dst, base []byte, srcs [][]byte) bool {
	off := pageOffset(dst)
	if len(base) > 0 && pageOffset(base) != off {
		return false
	}
	for _, s := range srcs {
		if pageOffset(s) != off {
			return false
		}
	}
	return true
}

// pageOffset is where b starts within its 4 KiB page.
func pageOffset(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) & 4095 }

func sumScaled(f Format, dst, base []byte, srcs [][]byte, w []float32, div, lambda float32) bool {
	sz := f.Size()
	n := vecLen(len(dst)/sz) * sz // bytes the assembly takes
	ok := true
	if n > 0 {
		d, b, divide := dst[:n], base[:n], div != 1
		switch impl {
		case avx512:
			switch f {
			case BF16:
				ok = sumScaledBF16AVX512(d, b, srcs, w, div, lambda, divide)
			case F16:
				ok = sumScaledF16AVX512(d, b, srcs, w, div, lambda, divide)
			default:
				if f32Wide(d, b, srcs) {
					ok = sumScaledF32AVX512(d, b, srcs, w, div, lambda, divide)
				} else {
					ok = sumScaledF32AVX2(d, b, srcs, w, div, lambda, divide)
				}
			}
		case avx2:
			switch f {
			case BF16:
				ok = sumScaledBF16AVX2(d, b, srcs, w, div, lambda, divide)
			case F16:
				ok = sumScaledF16AVX2(d, b, srcs, w, div, lambda, divide)
			default:
				ok = sumScaledF32AVX2(d, b, srcs, w, div, lambda, divide)
			}
		}
	}
	if n < len(dst) {
		var buf [64][]byte
		if !sumScaledGeneric(f, dst[n:], base[n:], byteTails(buf[:0], srcs, n), w, div, lambda) {
			ok = false
		}
	}
	return ok
}

func sumLinear(f Format, dst, base []byte, srcs [][]byte, w []float32) bool {
	sz := f.Size()
	n := vecLen(len(dst)/sz) * sz
	ok := true
	if n > 0 {
		d, b := dst[:n], base[:n]
		switch impl {
		case avx512:
			switch f {
			case BF16:
				ok = sumLinearBF16AVX512(d, b, srcs, w)
			case F16:
				ok = sumLinearF16AVX512(d, b, srcs, w)
			default:
				if f32Wide(d, b, srcs) {
					ok = sumLinearF32AVX512(d, b, srcs, w)
				} else {
					ok = sumLinearF32AVX2(d, b, srcs, w)
				}
			}
		case avx2:
			switch f {
			case BF16:
				ok = sumLinearBF16AVX2(d, b, srcs, w)
			case F16:
				ok = sumLinearF16AVX2(d, b, srcs, w)
			default:
				ok = sumLinearF32AVX2(d, b, srcs, w)
			}
		}
	}
	if n < len(dst) {
		var buf [64][]byte
		if !sumLinearGeneric(f, dst[n:], base[n:], byteTails(buf[:0], srcs, n), w) {
			ok = false
		}
	}
	return ok
}

// byteTails appends s[n:] for every source to dst.
func byteTails(dst, srcs [][]byte, n int) [][]byte {
	for _, s := range srcs {
		dst = append(dst, s[n:])
	}
	return dst
}
