package merge

// The robust aggregation kernels: per element, the inputs' values in recipe
// order are sorted ascending by insertion (stable: equal values keep recipe
// order) into vals, scratch of len(xs).

// sortColumn fills vals with element j of every input, sorted ascending.
func sortColumn(vals []float32, xs [][]float32, j int) {
	for i, x := range xs {
		v := x[j]
		k := i
		for k > 0 && vals[k-1] > v {
			vals[k] = vals[k-1]
			k--
		}
		vals[k] = v
	}
}

// medianCombine writes out = base + float32(λ·med): med the middle value,
// or float32(a+b)·0.5 of the two middle ones when len(xs) is even.
func medianCombine(out, base []float32, xs [][]float32, lambda float32, vals []float32) {
	n := len(xs)
	vals = vals[:n]
	for j := range out {
		sortColumn(vals, xs, j)
		med := vals[n/2]
		if n%2 == 0 {
			med = float32(vals[n/2-1]+vals[n/2]) * 0.5
		}
		out[j] = base[j] + float32(lambda*med)
	}
}

// trimmedCombine drops the k smallest and k largest values and writes
// out = base + float32(λ·mean), mean = (Σ of the rest, ascending, from +0)
// / float32(len(xs)−2k).
func trimmedCombine(out, base []float32, xs [][]float32, k int, lambda float32, vals []float32) {
	n := len(xs)
	vals = vals[:n]
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
