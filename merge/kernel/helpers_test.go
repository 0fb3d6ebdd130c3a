package kernel

// The helpers the tests share with half's are in internal/simdtest; what
// stays here reaches this package's choice of level.

// atLevel runs fn with the kernels at level l.
func atLevel(l level, fn func()) {
	prev := impl
	impl = l
	defer func() { impl = prev }()
	fn()
}
