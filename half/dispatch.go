package half

import "github.com/potluck-hub/potluck/internal/isa"

// impl is the level the conversions run at: isa.Best at start-up (the
// level merge/kernel's Implementation names), generic while ForceGeneric is
// in effect.
var impl = isa.Best

// ForceGeneric makes every slice conversion run its generic loop until the
// returned function is called, which restores the previous choice. It is
// for tests and benchmarks, and must not be called while conversions run
// concurrently.
//
//	defer half.ForceGeneric()()
func ForceGeneric() (restore func()) {
	prev := impl
	impl = isa.Generic
	return func() { impl = prev }
}

// mustLen panics unless got == want: a programmer error.
func mustLen(op string, got, want int) {
	if got != want {
		panic("half: " + op + ": slice lengths differ")
	}
}
