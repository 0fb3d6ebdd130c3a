package kernel

// XorN writes the XOR of the sources to dst: dst[i] = srcs[0][i] ^
// srcs[1][i] ^ …, or 0 when there are none. It reads every source once and
// does no arithmetic, so its speed is the memory-bandwidth ceiling that the
// merge kernels are measured against. It panics unless every source is as
// long as dst.
func XorN(dst []byte, srcs [][]byte) {
	for _, s := range srcs {
		mustLen("XorN", len(s), len(dst))
	}
	if len(srcs) == 0 {
		clear(dst)
		return
	}
	xorN(dst, srcs)
}
