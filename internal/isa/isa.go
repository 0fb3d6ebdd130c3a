// Package isa chooses, once per process, the instruction set that the SIMD
// kernels (half's conversions and merge/kernel's arithmetic) run at. Both
// packages take their level from here, so a program converts and computes
// at one level, and the two cannot disagree about what the CPU supports.
package isa

// Level is an instruction set the kernels can run on.
type Level int

const (
	Generic Level = iota // the generic Go loops
	AVX2                 // AVX2 and F16C, 8 float32 lanes
	AVX512               // AVX-512 F, BW, VL and DQ, 16 float32 lanes
)

// String names the level: "generic", "avx2" or "avx512".
func (l Level) String() string {
	switch l {
	case AVX2:
		return "avx2"
	case AVX512:
		return "avx512"
	}
	return "generic"
}
