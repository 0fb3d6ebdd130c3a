//go:build !amd64 || purego

package kernel

func tiesWeighted(out, base []float32, xs [][]float32, w []float32, lambda float32, normalize bool) {
	tiesWeightedGeneric(out, base, xs, w, lambda, normalize)
}

func tiesPaper(out, base []float32, xs [][]float32, w []float32, lambda float32, normalize bool) {
	tiesPaperGeneric(out, base, xs, w, lambda, normalize)
}
