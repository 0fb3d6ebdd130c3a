//go:build !purego

package kernel

// Each stub takes whole vectors: lengths a multiple of 16 (AVX512) or 8
// (AVX2), all slices of the same length.

// axpyAVX512 and axpyAVX2 equal
//
//	for i := range acc {
//		acc[i] = acc[i] + float32(w*x[i])
//	}
//
//go:noescape
func axpyAVX512(acc []float32, w float32, x []float32)

//go:noescape
func axpyAVX2(acc []float32, w float32, x []float32)

// addScaledAVX512 and addScaledAVX2 equal
//
//	for i := range out {
//		out[i] = base[i] + float32(s*acc[i])
//	}
//
//go:noescape
func addScaledAVX512(out, base []float32, s float32, acc []float32)

//go:noescape
func addScaledAVX2(out, base []float32, s float32, acc []float32)

// addIntoAVX512 and addIntoAVX2 equal
//
//	for i := range dst {
//		dst[i] = dst[i] + x[i]
//	}
//
//go:noescape
func addIntoAVX512(dst, x []float32)

//go:noescape
func addIntoAVX2(dst, x []float32)

// scaleByAVX512 and scaleByAVX2 equal
//
//	for i := range x {
//		x[i] = float32(s * x[i])
//	}
//
//go:noescape
func scaleByAVX512(x []float32, s float32)

//go:noescape
func scaleByAVX2(x []float32, s float32)

// divByAVX512 and divByAVX2 equal
//
//	for i := range x {
//		x[i] = x[i] / d
//	}
//
//go:noescape
func divByAVX512(x []float32, d float32)

//go:noescape
func divByAVX2(x []float32, d float32)

// nonFiniteAVX512 and nonFiniteAVX2 return an offset i ≤ len(x), a multiple
// of the vector length, such that x[:i] is all finite and, when i < len(x),
// one of the next 4 vectors holds a NaN or ±Inf:
//
//	for i := 0; i < len(x); i += 4 * lanes {
//		for _, v := range x[i:min(i+4*lanes, len(x))] {
//			if math.Float32bits(v)&0x7F800000 == 0x7F800000 {
//				return i
//			}
//		}
//	}
//	return len(x)
//
//go:noescape
func nonFiniteAVX512(x []float32) int

//go:noescape
func nonFiniteAVX2(x []float32) int

// vecLen is the number of elements the assembly takes of an n-element slice.
func vecLen(n int) int {
	switch impl {
	case avx512:
		return n &^ 15
	case avx2:
		return n &^ 7
	}
	return 0
}

func axpy(acc []float32, w float32, x []float32) {
	n := vecLen(len(acc))
	if impl == avx512 {
		axpyAVX512(acc[:n], w, x[:n])
	} else if impl == avx2 {
		axpyAVX2(acc[:n], w, x[:n])
	}
	axpyGeneric(acc[n:], w, x[n:])
}

func addScaled(out, base []float32, s float32, acc []float32) {
	n := vecLen(len(out))
	if impl == avx512 {
		addScaledAVX512(out[:n], base[:n], s, acc[:n])
	} else if impl == avx2 {
		addScaledAVX2(out[:n], base[:n], s, acc[:n])
	}
	addScaledGeneric(out[n:], base[n:], s, acc[n:])
}

func addInto(dst, x []float32) {
	n := vecLen(len(dst))
	if impl == avx512 {
		addIntoAVX512(dst[:n], x[:n])
	} else if impl == avx2 {
		addIntoAVX2(dst[:n], x[:n])
	}
	addIntoGeneric(dst[n:], x[n:])
}

func scaleBy(x []float32, s float32) {
	n := vecLen(len(x))
	if impl == avx512 {
		scaleByAVX512(x[:n], s)
	} else if impl == avx2 {
		scaleByAVX2(x[:n], s)
	}
	scaleByGeneric(x[n:], s)
}

func divBy(x []float32, d float32) {
	n := vecLen(len(x))
	if impl == avx512 {
		divByAVX512(x[:n], d)
	} else if impl == avx2 {
		divByAVX2(x[:n], d)
	}
	divByGeneric(x[n:], d)
}

func firstNonFinite(x []float32) int {
	n := vecLen(len(x))
	i := 0
	if impl == avx512 {
		i = nonFiniteAVX512(x[:n])
	} else if impl == avx2 {
		i = nonFiniteAVX2(x[:n])
	}
	if j := firstNonFiniteGeneric(x[i:]); j >= 0 {
		return i + j
	}
	return -1
}
