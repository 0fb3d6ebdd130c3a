package kernel

import "github.com/potluck-hub/potluck/half"

// The helpers the tests share with half's are in internal/simdtest; what
// stays here reaches this package's choice of level.

// atLevel runs fn with the kernels at level l; at generic, half's
// conversions too, so a generic run is the reference throughout.
func atLevel(l level, fn func()) {
	if l == generic {
		defer half.ForceGeneric()()
	}
	prev := impl
	impl = l
	defer func() { impl = prev }()
	fn()
}
