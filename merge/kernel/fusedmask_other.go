//go:build !amd64 || purego

package kernel

func mergeMasked(f Format, dst, base []byte, ins []MaskedInput, m Merge, scratch []float32) bool {
	return mergeMaskedGeneric(f, dst, base, ins, m, scratch)
}

func countKeys(f Format, raw []byte, below, eq uint32) (int, int) {
	return countKeysGeneric(f, raw, below, eq)
}
