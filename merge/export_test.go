package merge

// DisableFused turns the fused path off until restore is called, so a test
// can compare it with the general path.
func DisableFused() (restore func()) {
	prev := noFused
	noFused = true
	return func() { noFused = prev }
}

// AlwaysGuess makes every segment of a positional merge start from its
// guess until restore is called.
func AlwaysGuess() (restore func()) {
	prev := alwaysGuess
	alwaysGuess = true
	return func() { alwaysGuess = prev }
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
