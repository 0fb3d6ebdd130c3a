package merge

import "math"

// The generic kernels. Each product is rounded to float32 before it is added
// (float32(w*x) + acc): Go may not fuse that into an FMA, so every platform,
// and a later SIMD kernel that follows the same rule, gives the same bits.

// axpy adds w·x to acc, element by element.
func axpy(acc []float32, w float32, x []float32) {
	x = x[:len(acc)]
	for i := range acc {
		acc[i] = acc[i] + float32(w*x[i])
	}
}

// addScaled writes base + s·acc to out.
func addScaled(out, base []float32, s float32, acc []float32) {
	base, acc = base[:len(out)], acc[:len(out)]
	for i := range out {
		out[i] = base[i] + float32(s*acc[i])
	}
}

// addInto adds x to dst.
func addInto(dst, x []float32) {
	x = x[:len(dst)]
	for i := range dst {
		dst[i] = dst[i] + x[i]
	}
}

// firstNonFinite returns the index of the first NaN or ±Inf in x, or -1.
func firstNonFinite(x []float32) int {
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return i
		}
	}
	return -1
}
