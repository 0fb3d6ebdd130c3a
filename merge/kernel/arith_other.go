//go:build !amd64 || purego

package kernel

func axpy(acc []float32, w float32, x []float32)              { axpyGeneric(acc, w, x) }
func addScaled(out, base []float32, s float32, acc []float32) { addScaledGeneric(out, base, s, acc) }
func addInto(dst, x []float32)                                { addIntoGeneric(dst, x) }
func scaleBy(x []float32, s float32)                          { scaleByGeneric(x, s) }
func divBy(x []float32, d float32)                            { divByGeneric(x, d) }
func firstNonFinite(x []float32) int                          { return firstNonFiniteGeneric(x) }
