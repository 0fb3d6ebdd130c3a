//go:build !purego

package kernel

// xorNAVX512 and xorNAVX2 equal xorNGeneric for len(dst) a multiple of 256,
// len(srcs) ≥ 1 and every source at least len(dst) bytes.
//
//go:noescape
func xorNAVX512(dst []byte, srcs [][]byte)

//go:noescape
func xorNAVX2(dst []byte, srcs [][]byte)

func xorN(dst []byte, srcs [][]byte) {
	n := 0
	switch impl {
	case avx512:
		n = len(dst) &^ 255
		xorNAVX512(dst[:n], srcs)
	case avx2:
		n = len(dst) &^ 255
		xorNAVX2(dst[:n], srcs)
	}
	if n == len(dst) {
		return
	}
	tail := make([][]byte, len(srcs))
	for i, s := range srcs {
		tail[i] = s[n:]
	}
	xorNGeneric(dst[n:], tail)
}
