package kernel

import "github.com/potluck-hub/potluck/half"

// The float conversions are package half's, below both this package and
// safetensors. What stays here forwards to it for callers in merge that
// name it through this package; new code calls half directly.

// F16ToF32Bits forwards to half.F16ToF32Bits: it widens IEEE half-precision
// h to float32 bits, exactly.
func F16ToF32Bits(h uint16) uint32 { return half.F16ToF32Bits(h) }
