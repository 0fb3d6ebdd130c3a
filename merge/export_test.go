package merge

// DisableFused turns the fused path off until restore is called, so a test
// can compare it with the general path.
func DisableFused() (restore func()) {
	prev := noFused
	noFused = true
	return func() { noFused = prev }
}

// StatsTaken is how many magnitude histograms came from trim statistics.
func StatsTaken() int64 { return statsTaken.Load() }

// MaskedRanges is how many ranges the fused masked path has merged.
func MaskedRanges() int64 { return maskedRanges.Load() }

// SegmentsRedone is how many segments were merged again because their
// positional stages' guessed start decided an element otherwise.
func SegmentsRedone() int64 { return segmentsRedone.Load() }

// MethodNames lists the registered methods as error messages do.
func MethodNames() string { return methodNames() }
