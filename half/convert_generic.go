package half

import (
	"encoding/binary"
	"math"
)

// The generic loops: the reference of every level, the scalar conversions
// of scalar.go applied element by element.

func widenBF16Generic(dst []float32, src []byte) {
	src = src[:2*len(dst)]
	for i := range dst {
		dst[i] = math.Float32frombits(BF16ToF32Bits(binary.LittleEndian.Uint16(src[2*i:])))
	}
}

func widenF16Generic(dst []float32, src []byte) {
	src = src[:2*len(dst)]
	for i := range dst {
		dst[i] = math.Float32frombits(F16ToF32Bits(binary.LittleEndian.Uint16(src[2*i:])))
	}
}

func narrowBF16Generic(dst []byte, src []float32) {
	dst = dst[:2*len(src)]
	for i, v := range src {
		binary.LittleEndian.PutUint16(dst[2*i:], F32ToBF16Bits(math.Float32bits(v)))
	}
}

func narrowF16Generic(dst []byte, src []float32) {
	dst = dst[:2*len(src)]
	for i, v := range src {
		binary.LittleEndian.PutUint16(dst[2*i:], F32ToF16Bits(math.Float32bits(v)))
	}
}

func readF32Generic(dst []float32, src []byte) {
	src = src[:4*len(dst)]
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
}

func writeF32Generic(dst []byte, src []float32) {
	dst = dst[:4*len(src)]
	for i, v := range src {
		binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
	}
}
