//go:build !amd64 || purego

package kernel

func robustEncoded(f Format, dst, base []byte, srcs [][]byte, k int, lambda float32) bool {
	return robustEncodedGeneric(f, dst, base, srcs, k, lambda)
}
