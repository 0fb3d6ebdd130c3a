//go:build !amd64 || purego

package kernel

func medianCombine(out, base []float32, xs [][]float32, lambda float32) {
	medianCombineGeneric(out, base, xs, lambda)
}

func trimmedCombine(out, base []float32, xs [][]float32, k int, lambda float32) {
	trimmedCombineGeneric(out, base, xs, k, lambda)
}
