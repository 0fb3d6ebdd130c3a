package kernel

import (
	"encoding/binary"
	"math"
)

// The reference fused sums: element by element, through the scalar
// conversions of convert_generic.go.

// fusedFormat is one Format's scalar widen, narrow and non-finite test.
type fusedFormat struct {
	size     int
	widen    func(b []byte) float32
	narrow   func(b []byte, v float32)
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
	bf16Format = fusedFormat{2,
		func(b []byte) float32 { return math.Float32frombits(uint32(binary.LittleEndian.Uint16(b)) << 16) },
		func(b []byte, v float32) { binary.LittleEndian.PutUint16(b, F32ToBF16Bits(math.Float32bits(v))) },
		func(b []byte) bool { return binary.LittleEndian.Uint16(b)&0x7F80 == 0x7F80 }}
	f16Format = fusedFormat{2,
		func(b []byte) float32 { return math.Float32frombits(F16ToF32Bits(binary.LittleEndian.Uint16(b))) },
		func(b []byte, v float32) { binary.LittleEndian.PutUint16(b, F32ToF16Bits(math.Float32bits(v))) },
		func(b []byte) bool { return binary.LittleEndian.Uint16(b)&0x7C00 == 0x7C00 }}
	f32Format = fusedFormat{4,
		func(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) },
		func(b []byte, v float32) { binary.LittleEndian.PutUint32(b, math.Float32bits(v)) },
		func(b []byte) bool { return binary.LittleEndian.Uint32(b)&0x7F800000 == 0x7F800000 }}
)

func sumScaledGeneric(f Format, dst, base []byte, srcs [][]byte, w []float32, div, lambda float32) bool {
	ff := formatOf(f)
	ok := true
	for j := 0; j < len(dst); j += ff.size {
		var acc float32
		for k, s := range srcs {
			if ff.infOrNaN(s[j:]) {
				ok = false
			}
			acc = acc + float32(w[k]*ff.widen(s[j:]))
		}
		if div != 1 {
			acc = acc / div
		}
		ff.narrow(dst[j:], ff.widen(base[j:])+float32(lambda*acc))
		if ff.infOrNaN(dst[j:]) {
			ok = false
		}
	}
	return ok
}

func sumLinearGeneric(f Format, dst, base []byte, srcs [][]byte, w []float32) bool {
	ff := formatOf(f)
	ok := true
	for j := 0; j < len(dst); j += ff.size {
		b := ff.widen(base[j:])
		var acc float32
		for k, s := range srcs {
			if ff.infOrNaN(s[j:]) {
				ok = false
			}
			acc = acc + float32(w[k]*(ff.widen(s[j:])+b))
		}
		ff.narrow(dst[j:], acc)
		if ff.infOrNaN(dst[j:]) {
			ok = false
		}
	}
	return ok
}
