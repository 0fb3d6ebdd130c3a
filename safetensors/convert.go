package safetensors

import (
	"math"

	"github.com/potluck-hub/potluck/half"
)

// F32ToBF16 narrows a float32 to bfloat16, rounding to nearest, ties to
// even; it forwards to half.F32ToBF16Bits, which new code calls directly.
// Values that round past the largest bfloat16 become ±Inf. A NaN stays a
// NaN even when its payload lies only in the dropped bits: the quiet bit
// is set.
func F32ToBF16(f float32) uint16 {
	return half.F32ToBF16Bits(math.Float32bits(f))
}
