//go:build !amd64 || purego

package kernel

func sumScaled(f Format, dst, base []byte, srcs [][]byte, w []float32, div, lambda float32) bool {
	return sumScaledGeneric(f, dst, base, srcs, w, div, lambda)
}

func sumLinear(f Format, dst, base []byte, srcs [][]byte, w []float32) bool {
	return sumLinearGeneric(f, dst, base, srcs, w)
}
