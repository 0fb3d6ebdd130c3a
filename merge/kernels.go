package merge

import (
	"encoding/binary"

	"github.com/potluck-hub/potluck/merge/kernel"
	"github.com/potluck-hub/potluck/safetensors"
)

// The element-wise kernels. Each product is rounded to float32 before it is
// added (float32(w*x) + acc): Go may not fuse that into an FMA, so every
// platform gives the same bits. The hot ones run in merge/kernel, whose
// AVX-512 and AVX2 loops follow the same rule and match its generic loops
// bit for bit; the comments below give the loop each one equals.

// axpy adds w·x to acc, element by element.
//
//	acc[i] = acc[i] + float32(w*x[i])
func axpy(acc []float32, w float32, x []float32) {
	kernel.Axpy(acc, w, x[:len(acc)])
}

// addScaled writes base + s·acc to out.
//
//	out[i] = base[i] + float32(s*acc[i])
func addScaled(out, base []float32, s float32, acc []float32) {
	kernel.AddScaled(out, base[:len(out)], s, acc[:len(out)])
}

// addInto adds x to dst.
//
//	dst[i] = dst[i] + x[i]
func addInto(dst, x []float32) {
	kernel.AddInto(dst, x[:len(dst)])
}

// firstNonFinite returns the index of the first NaN or ±Inf in x, or -1.
func firstNonFinite(x []float32) int {
	return kernel.FirstNonFinite(x)
}

// firstNonFiniteEncoded returns the index of the first NaN or ±Inf among
// encoded values (a value that overflowed the output dtype), or -1.
func firstNonFiniteEncoded(raw []byte, dt safetensors.DType) int {
	// Eight bytes at a time: a lane whose exponent bits are all ones is
	// zero after the mask and the XOR, and the carry trick finds a zero
	// lane without a branch per element; only the word that has one is
	// searched element by element.
	var exp, ones, high uint64
	switch dt {
	case safetensors.BF16:
		exp, ones, high = 0x7F807F807F807F80, 0x0001000100010001, 0x8000800080008000
	case safetensors.F16:
		exp, ones, high = 0x7C007C007C007C00, 0x0001000100010001, 0x8000800080008000
	case safetensors.F32:
		exp, ones, high = 0x7F8000007F800000, 0x0000000100000001, 0x8000000080000000
	case safetensors.F64:
		exp, ones, high = 0x7FF0000000000000, 1, 0x8000000000000000
	default:
		return -1
	}
	size := dt.Size()
	i := 0
	for ; i+8 <= len(raw); i += 8 {
		x := binary.LittleEndian.Uint64(raw[i:])&exp ^ exp
		if (x-ones)&^x&high != 0 {
			break
		}
	}
	for ; i+size <= len(raw); i += size {
		var v uint64
		switch size {
		case 2:
			v = uint64(binary.LittleEndian.Uint16(raw[i:]))
		case 4:
			v = uint64(binary.LittleEndian.Uint32(raw[i:]))
		default:
			v = binary.LittleEndian.Uint64(raw[i:])
		}
		if m := exp & (1<<(8*size) - 1); v&m == m { // 1<<64 is 0: m = exp for f64
			return i / size
		}
	}
	return -1
}

// scaleBy multiplies x by s: x[i] = float32(s·x[i]).
func scaleBy(x []float32, s float32) {
	kernel.ScaleBy(x, s)
}

// divBy divides x by d.
func divBy(x []float32, d float32) {
	kernel.DivBy(x, d)
}

// lerp2 writes out = float32(s0·a) + float32(s1·b).
func lerp2(out, a, b []float32, s0, s1 float32) {
	a, b = a[:len(out)], b[:len(out)]
	for i := range out {
		out[i] = float32(s0*a[i]) + float32(s1*b[i])
	}
}
