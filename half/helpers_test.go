package half

import "github.com/potluck-hub/potluck/internal/isa"

// The helpers these tests share with merge/kernel's are in
// internal/simdtest; what stays here reaches this package's choice of
// level.

// atLevel runs fn with the conversions at level l.
func atLevel(l isa.Level, fn func()) {
	prev := impl
	impl = l
	defer func() { impl = prev }()
	fn()
}
