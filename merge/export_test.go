package merge

// DisableFused turns the fused path off until restore is called, so a test
// can compare it with the general path.
func DisableFused() (restore func()) {
	prev := noFused
	noFused = true
	return func() { noFused = prev }
}

// MethodNames lists the registered methods as error messages do.
func MethodNames() string { return methodNames() }
