package kernel

import "math"

// The reference robust loops (see robust.go): an insertion sort by key per
// element, then the arithmetic as written.

// sortKey is v's sortable key.
func sortKey(v float32) int32 {
	b := int32(math.Float32bits(v))
	return b ^ int32(uint32(b>>31)>>1)
}

// sortColumn fills vals (len(xs) long) with element j of every input,
// sorted ascending by key.
func sortColumn(vals []float32, xs [][]float32, j int) {
	for i, x := range xs {
		v := x[j]
		k := sortKey(v)
		p := i
		for p > 0 && sortKey(vals[p-1]) > k {
			vals[p] = vals[p-1]
			p--
		}
		vals[p] = v
	}
}

// columnScratch returns n float32s: buf's when it is long enough.
func columnScratch(buf []float32, n int) []float32 {
	if n <= len(buf) {
		return buf[:n]
	}
	return make([]float32, n)
}

func medianCombineGeneric(out, base []float32, xs [][]float32, lambda float32) {
	var buf [32]float32
	n := len(xs)
	vals := columnScratch(buf[:], n)
	for j := range out {
		sortColumn(vals, xs, j)
		med := vals[n/2]
		if n%2 == 0 {
			med = float32(vals[n/2-1]+vals[n/2]) * 0.5
		}
		out[j] = base[j] + float32(lambda*med)
	}
}

func trimmedCombineGeneric(out, base []float32, xs [][]float32, k int, lambda float32) {
	var buf [32]float32
	n := len(xs)
	vals := columnScratch(buf[:], n)
	cnt := float32(n - 2*k)
	for j := range out {
		sortColumn(vals, xs, j)
		var s float32
		for _, v := range vals[k : n-k] {
			s = s + v
		}
		out[j] = base[j] + float32(lambda*(s/cnt))
	}
}
