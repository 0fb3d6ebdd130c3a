package safetensors

import (
	"math"

	"github.com/potluck-hub/potluck/merge/kernel"
)

// The scalar conversions are the kernel package's reference code, so the
// format and the merge engine can never round differently.

// BF16ToF32 widens a bfloat16 to float32. Every bfloat16 is exactly a float32 with
// the low 16 bits zero, so this is exact, NaN payloads included.
func BF16ToF32(h uint16) float32 {
	return math.Float32frombits(uint32(h) << 16)
}

// F32ToBF16 narrows a float32 to bfloat16, rounding to nearest, ties to even.
// Values that round past the largest bfloat16 become ±Inf. A NaN stays a NaN even
// when its payload lies only in the dropped bits: the quiet bit is set.
func F32ToBF16(f float32) uint16 {
	return kernel.F32ToBF16Bits(math.Float32bits(f))
}

// F16ToF32 widens an IEEE 754 half-precision float to float32. It is exact:
// subnormal halves become normal float32s, and NaN payloads are kept.
func F16ToF32(h uint16) float32 {
	return math.Float32frombits(kernel.F16ToF32Bits(h))
}

// F32ToF16 narrows a float32 to IEEE 754 half precision, rounding to nearest, ties
// to even. Values that round past 65504 become ±Inf, values below half the
// smallest subnormal (2^-25) become ±0, and a NaN stays a quiet NaN.
func F32ToF16(f float32) uint16 {
	return kernel.F32ToF16Bits(math.Float32bits(f))
}
