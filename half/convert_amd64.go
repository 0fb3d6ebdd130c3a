//go:build !purego

package half

import (
	"unsafe"

	"github.com/potluck-hub/potluck/internal/isa"
)

// Each stub takes whole vectors: len(dst) a multiple of 16 (AVX512) or 8
// (AVX2; 16 for narrowBF16AVX2), the other slice of the matching length.

// widenBF16AVX512 and widenBF16AVX2 equal
//
//	for i := range dst {
//		dst[i] = math.Float32frombits(BF16ToF32Bits(binary.LittleEndian.Uint16(src[2*i:])))
//	}
//
//go:noescape
func widenBF16AVX512(dst []float32, src []byte)

//go:noescape
func widenBF16AVX2(dst []float32, src []byte)

// widenF16AVX512 and widenF16AVX2 equal
//
//	for i := range dst {
//		dst[i] = math.Float32frombits(F16ToF32Bits(binary.LittleEndian.Uint16(src[2*i:])))
//	}
//
//go:noescape
func widenF16AVX512(dst []float32, src []byte)

//go:noescape
func widenF16AVX2(dst []float32, src []byte)

// narrowBF16AVX512 and narrowBF16AVX2 equal
//
//	for i, v := range src {
//		binary.LittleEndian.PutUint16(dst[2*i:], F32ToBF16Bits(math.Float32bits(v)))
//	}
//
//go:noescape
func narrowBF16AVX512(dst []byte, src []float32)

//go:noescape
func narrowBF16AVX2(dst []byte, src []float32)

// narrowF16AVX512 and narrowF16AVX2 equal
//
//	for i, v := range src {
//		binary.LittleEndian.PutUint16(dst[2*i:], F32ToF16Bits(math.Float32bits(v)))
//	}
//
//go:noescape
func narrowF16AVX512(dst []byte, src []float32)

//go:noescape
func narrowF16AVX2(dst []byte, src []float32)

func widenBF16(dst []float32, src []byte) {
	n := 0
	switch impl {
	case isa.AVX512:
		n = len(dst) &^ 15
		widenBF16AVX512(dst[:n], src[:2*n])
	case isa.AVX2:
		n = len(dst) &^ 7
		widenBF16AVX2(dst[:n], src[:2*n])
	}
	widenBF16Generic(dst[n:], src[2*n:])
}

func widenF16(dst []float32, src []byte) {
	n := 0
	switch impl {
	case isa.AVX512:
		n = len(dst) &^ 15
		widenF16AVX512(dst[:n], src[:2*n])
	case isa.AVX2:
		n = len(dst) &^ 7
		widenF16AVX2(dst[:n], src[:2*n])
	}
	widenF16Generic(dst[n:], src[2*n:])
}

func narrowBF16(dst []byte, src []float32) {
	n := 0
	switch impl {
	case isa.AVX512:
		n = len(src) &^ 15
		narrowBF16AVX512(dst[:2*n], src[:n])
	case isa.AVX2:
		n = len(src) &^ 15
		narrowBF16AVX2(dst[:2*n], src[:n])
	}
	narrowBF16Generic(dst[2*n:], src[n:])
}

func narrowF16(dst []byte, src []float32) {
	n := 0
	switch impl {
	case isa.AVX512:
		n = len(src) &^ 15
		narrowF16AVX512(dst[:2*n], src[:n])
	case isa.AVX2:
		n = len(src) &^ 7
		narrowF16AVX2(dst[:2*n], src[:n])
	}
	narrowF16Generic(dst[2*n:], src[n:])
}

// readF32 and writeF32 are a copy: amd64 is little-endian, and Go's copy is
// already a vector memmove.
func readF32(dst []float32, src []byte) {
	if impl == isa.Generic {
		readF32Generic(dst, src)
		return
	}
	copy(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(dst))), 4*len(dst)), src)
}

func writeF32(dst []byte, src []float32) {
	if impl == isa.Generic {
		writeF32Generic(dst, src)
		return
	}
	copy(dst, unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(src))), 4*len(src)))
}
