package kernel

import (
	"github.com/potluck-hub/potluck/half"
	"github.com/potluck-hub/potluck/internal/isa"
)

// level is an instruction set the kernels can run on. internal/isa picks
// the best one this CPU supports, for every SIMD package alike.
type level = isa.Level

const (
	generic = isa.Generic
	avx2    = isa.AVX2   // AVX2 and F16C, 8 float32 lanes
	avx512  = isa.AVX512 // AVX-512 F, BW, VL and DQ, 16 float32 lanes
)

// impl is the level every kernel runs at: isa.Best at start-up, generic
// while ForceGeneric is in effect.
var impl = isa.Best

// Implementation names the kernels in use: "avx512", "avx2" or "generic".
func Implementation() string { return impl.String() }

// ForceGeneric makes every kernel, and half's conversions, run its generic
// loop until the returned function is called, which restores the previous
// choice. It is for tests and benchmarks, and must not be called while
// kernels run concurrently.
//
//	defer kernel.ForceGeneric()()
func ForceGeneric() (restore func()) {
	restoreHalf := half.ForceGeneric()
	prev := impl
	impl = generic
	return func() {
		impl = prev
		restoreHalf()
	}
}

// mustLen panics unless got == want: a programmer error.
func mustLen(op string, got, want int) {
	if got != want {
		panic("kernel: " + op + ": slice lengths differ")
	}
}
