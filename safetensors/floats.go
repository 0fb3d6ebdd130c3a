package safetensors

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/potluck-hub/potluck/half"
)

// The 16-bit and float32 conversions are package half's, whose AVX-512 and
// AVX2 loops give exactly the bits of its scalar conversions (its tests
// check every 16-bit pattern and, on request, every float32); the merge
// engine converts with the same functions.

// DecodeFloat32 converts little-endian tensor bytes of a float dtype (F32, F16,
// BF16, F64) to float32. F64 values are rounded to nearest even by float32().
// len(dst) must equal len(src)/dt.Size(), with no bytes left over.
func DecodeFloat32(dst []float32, src []byte, dt DType) error {
	if err := checkLengths(len(dst), len(src), dt, "decode"); err != nil {
		return err
	}
	switch dt {
	case F32:
		decodeF32(dst, src)
	case F16:
		decodeF16(dst, src)
	case BF16:
		decodeBF16(dst, src)
	case F64:
		decodeF64(dst, src)
	}
	return nil
}

// EncodeFloat32 converts float32 values to little-endian bytes of a float dtype
// (F32, F16, BF16, F64), rounding to nearest even when narrowing.
// len(dst) must equal len(src)*dt.Size().
func EncodeFloat32(dst []byte, src []float32, dt DType) error {
	if err := checkLengths(len(src), len(dst), dt, "encode"); err != nil {
		return err
	}
	switch dt {
	case F32:
		encodeF32(dst, src)
	case F16:
		encodeF16(dst, src)
	case BF16:
		encodeBF16(dst, src)
	case F64:
		encodeF64(dst, src)
	}
	return nil
}

// checkLengths requires a float dtype and n elements to occupy exactly nbytes.
func checkLengths(n, nbytes int, dt DType, op string) error {
	if !dt.IsFloat() {
		return fmt.Errorf("safetensors: %s %s as float32: %w", op, dt, errors.ErrUnsupported)
	}
	if nbytes%dt.Size() != 0 || nbytes/dt.Size() != n {
		return fmt.Errorf("safetensors: %s %s: %d bytes do not hold %d elements of %d bytes",
			op, dt, nbytes, n, dt.Size())
	}
	return nil
}

func decodeF32(dst []float32, src []byte) { half.ReadF32(dst, src[:len(dst)*4]) }

func decodeF16(dst []float32, src []byte) { half.WidenF16(dst, src[:len(dst)*2]) }

func decodeBF16(dst []float32, src []byte) { half.WidenBF16(dst, src[:len(dst)*2]) }

func decodeF64(dst []float32, src []byte) {
	src = src[:len(dst)*8]
	for i := range dst {
		dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(src[i*8:])))
	}
}

func encodeF32(dst []byte, src []float32) { half.WriteF32(dst[:len(src)*4], src) }

func encodeF16(dst []byte, src []float32) { half.NarrowF16(dst[:len(src)*2], src) }

func encodeBF16(dst []byte, src []float32) { half.NarrowBF16(dst[:len(src)*2], src) }

func encodeF64(dst []byte, src []float32) {
	dst = dst[:len(src)*8]
	for i, v := range src {
		binary.LittleEndian.PutUint64(dst[i*8:], math.Float64bits(float64(v)))
	}
}
