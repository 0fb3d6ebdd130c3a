//go:build !amd64 || purego

package kernel

func xorN(dst []byte, srcs [][]byte) { xorNGeneric(dst, srcs) }
