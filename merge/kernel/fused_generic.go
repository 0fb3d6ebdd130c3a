package kernel

import (
	"encoding/binary"

	"github.com/potluck-hub/potluck/half"
)

// The reference fused sums: a block at a time through the generic slice
// loops, so each element sees exactly the operations, in the same order,
// that the assembly and the unfused pipeline apply.

// fusedFormat is one Format's element size and non-finite test.
type fusedFormat struct {
	size     int
	infOrNaN func(b []byte) bool
}

func formatOf(f Format) *fusedFormat {
	switch f {
	case BF16:
		return &bf16Format
	case F16:
		return &f16Format
	}
	return &f32Format
}

var (
	bf16Format = fusedFormat{2, func(b []byte) bool { return binary.LittleEndian.Uint16(b)&0x7F80 == 0x7F80 }}
	f16Format  = fusedFormat{2, func(b []byte) bool { return binary.LittleEndian.Uint16(b)&0x7C00 == 0x7C00 }}
	f32Format  = fusedFormat{4, func(b []byte) bool { return binary.LittleEndian.Uint32(b)&0x7F800000 == 0x7F800000 }}
)

// genericBlock is the elements the generic sums widen at a time, into
// stack buffers: half's slice conversions and the loops of
// arith_generic.go then run without a call per element.
const genericBlock = 256

// widenGeneric widens len(dst) encoded elements of format f. half's
// conversions give the bits of their generic loops at every level, so the
// reference does not depend on half's level (ForceGeneric sets both).
func widenGeneric(f Format, dst []float32, src []byte) {
	switch f {
	case BF16:
		half.WidenBF16(dst, src)
	case F16:
		half.WidenF16(dst, src)
	default:
		half.ReadF32(dst, src)
	}
}

// narrowGeneric encodes src in format f, as widenGeneric decodes.
func narrowGeneric(f Format, dst []byte, src []float32) {
	switch f {
	case BF16:
		half.NarrowBF16(dst, src)
	case F16:
		half.NarrowF16(dst, src)
	default:
		half.WriteF32(dst, src)
	}
}

// finiteEncoded reports whether every encoded element of b is finite.
func finiteEncoded(ff *fusedFormat, b []byte) bool {
	ok := true
	for j := 0; j < len(b); j += ff.size {
		ok = ok && !ff.infOrNaN(b[j:])
	}
	return ok
}

func sumScaledGeneric(f Format, dst, base []byte, srcs [][]byte, w []float32, div, lambda float32) bool {
	ff := formatOf(f)
	var acc, x, b [genericBlock]float32
	ok := true
	for at := 0; at < len(dst); at += genericBlock * ff.size {
		end := min(at+genericBlock*ff.size, len(dst))
		n := (end - at) / ff.size
		clear(acc[:n])
		for k, s := range srcs {
			widenGeneric(f, x[:n], s[at:end])
			ok = firstNonFiniteGeneric(x[:n]) < 0 && ok // widening keeps Inf and NaN
			axpyGeneric(acc[:n], w[k], x[:n])
		}
		if div != 1 {
			divByGeneric(acc[:n], div)
		}
		widenGeneric(f, b[:n], base[at:end])
		addScaledGeneric(x[:n], b[:n], lambda, acc[:n])
		narrowGeneric(f, dst[at:end], x[:n])
		ok = finiteEncoded(ff, dst[at:end]) && ok
	}
	return ok
}

func sumLinearGeneric(f Format, dst, base []byte, srcs [][]byte, w []float32) bool {
	ff := formatOf(f)
	var acc, x, b [genericBlock]float32
	ok := true
	for at := 0; at < len(dst); at += genericBlock * ff.size {
		end := min(at+genericBlock*ff.size, len(dst))
		n := (end - at) / ff.size
		clear(acc[:n])
		widenGeneric(f, b[:n], base[at:end])
		for k, s := range srcs {
			widenGeneric(f, x[:n], s[at:end])
			ok = firstNonFiniteGeneric(x[:n]) < 0 && ok
			addIntoGeneric(x[:n], b[:n])
			axpyGeneric(acc[:n], w[k], x[:n])
		}
		narrowGeneric(f, dst[at:end], acc[:n])
		ok = finiteEncoded(ff, dst[at:end]) && ok
	}
	return ok
}
