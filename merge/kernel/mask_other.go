//go:build !amd64 || purego

package kernel

func dareMask(x []float32, key uint64, off int64, keep uint64) { dareMaskGeneric(x, key, off, keep) }
func dareMask2(x []float32, key uint64, e uint64, keep uint32) { dareMask2Generic(x, key, e, keep) }
func maskBetween(x []float32, lo, hi int64)                    { maskBetweenGeneric(x, lo, hi) }
func countKey(x []float32, key uint32) int                     { return countKeyGeneric(x, key) }
func firstInBins(raw []byte, b0, b1 uint32) int                { return firstInBinsGeneric(raw, b0, b1) }
func sumAbsLanes(acc *[8]float64, lane int, x []float32)       { sumAbsLanesGeneric(acc, lane, x) }
func dotLanes(acc *[8]float64, lane int, a, b []float32)       { dotLanesGeneric(acc, lane, a, b) }
func dotPairs(acc []*[8]float64, lane int, as, bs [][]float32) { dotPairsGeneric(acc, lane, as, bs) }
func gram(acc []*[8]float64, lane int, xs [][]float32)         { gramGeneric(acc, lane, xs) }

func gramEncoded(f Format, acc []*[8]float64, lane int, raws [][]byte) bool {
	return gramEncodedGeneric(f, acc, lane, raws)
}

// hasDQ is false: there is no assembly.
var hasDQ = false

func dare2L1(f Format, raw []byte, key, e uint64, keep uint32, before, after *[8]float64) bool {
	return dare2L1Generic(f, raw, key, e, keep, before, after)
}
