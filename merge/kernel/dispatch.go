package kernel

// level is an instruction set the kernels can run on.
type level int

const (
	generic level = iota
	avx2          // AVX2 and F16C, 8 float32 lanes
	avx512        // AVX-512 F, BW, VL and DQ, 16 float32 lanes
)

func (l level) String() string {
	switch l {
	case avx2:
		return "avx2"
	case avx512:
		return "avx512"
	}
	return "generic"
}

// impl is the level every kernel runs at: best at start-up, generic while
// ForceGeneric is in effect.
var impl = best

// Implementation names the kernels in use: "avx512", "avx2" or "generic".
func Implementation() string { return impl.String() }

// ForceGeneric makes every kernel run its generic loop until the returned
// function is called, which restores the previous choice. It is for tests
// and benchmarks, and must not be called while kernels run concurrently.
//
//	defer kernel.ForceGeneric()()
func ForceGeneric() (restore func()) {
	prev := impl
	impl = generic
	return func() { impl = prev }
}

// mustLen panics unless got == want: a programmer error.
func mustLen(op string, got, want int) {
	if got != want {
		panic("kernel: " + op + ": slice lengths differ")
	}
}
