package kernel

import "math"

// The reference loops of arith.go. Go compiles acc[i] + float32(w*x[i]) to
// a MULSS of x[i] by w and an ADDSS of acc[i] into that product (the
// product the destination operand, whose payload a NaN result carries when
// both are NaN); the assembly keeps the same operand order, though only
// NaN-ness is promised.

func axpyGeneric(acc []float32, w float32, x []float32) {
	x = x[:len(acc)]
	for i := range acc {
		acc[i] = acc[i] + float32(w*x[i])
	}
}

func addScaledGeneric(out, base []float32, s float32, acc []float32) {
	base, acc = base[:len(out)], acc[:len(out)]
	for i := range out {
		out[i] = base[i] + float32(s*acc[i])
	}
}

func addIntoGeneric(dst, x []float32) {
	x = x[:len(dst)]
	for i := range dst {
		dst[i] = dst[i] + x[i]
	}
}

func scaleByGeneric(x []float32, s float32) {
	for i := range x {
		x[i] = float32(s * x[i])
	}
}

func divByGeneric(x []float32, d float32) {
	for i := range x {
		x[i] = x[i] / d
	}
}

func firstNonFiniteGeneric(x []float32) int {
	for i, v := range x {
		if math.Float32bits(v)&0x7F800000 == 0x7F800000 {
			return i
		}
	}
	return -1
}
