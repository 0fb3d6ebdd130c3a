package kernel

// The element-wise arithmetic of the merge methods. Each product is rounded
// to float32 before it is added (see the package doc's FMA rule).

// Axpy adds w·x to acc: acc[i] = acc[i] + float32(w·x[i]). It panics unless
// len(x) == len(acc).
func Axpy(acc []float32, w float32, x []float32) {
	mustLen("Axpy", len(x), len(acc))
	axpy(acc, w, x)
}

// AddScaled writes base + s·acc to out: out[i] = base[i] + float32(s·acc[i]).
// It panics unless the three lengths are equal.
func AddScaled(out, base []float32, s float32, acc []float32) {
	mustLen("AddScaled", len(base), len(out))
	mustLen("AddScaled", len(acc), len(out))
	addScaled(out, base, s, acc)
}

// AddInto adds x to dst: dst[i] = dst[i] + x[i]. It panics unless
// len(x) == len(dst).
func AddInto(dst, x []float32) {
	mustLen("AddInto", len(x), len(dst))
	addInto(dst, x)
}

// ScaleBy multiplies x by s: x[i] = s·x[i].
func ScaleBy(x []float32, s float32) { scaleBy(x, s) }

// DivBy divides x by d: x[i] = x[i] / d.
func DivBy(x []float32, d float32) { divBy(x, d) }

// FirstNonFinite returns the index of the first NaN or ±Inf in x, or -1.
func FirstNonFinite(x []float32) int { return firstNonFinite(x) }
