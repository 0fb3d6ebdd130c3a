package kernel

// The fused robust merges: MedianCombine and TrimmedCombine straight on
// encoded elements, for the median and trimmed_mean methods over deltas
// of the base's dtype. Each input byte is read once; widening, sorting
// across the inputs, the median or trimmed sum, λ·r + base and narrowing
// happen in registers. The arithmetic is the slice kernels' (robust.go),
// so a block merged here and one merged through WidenX, MedianCombine (or
// TrimmedCombine) and NarrowX have the same bits.

// RobustEncodedMax is the most inputs MedianEncoded and TrimmedEncoded run
// in registers; more go through the generic loop, and a caller is better
// served by the slice kernels.
const RobustEncodedMax = 8

// MedianEncoded computes, for every element j, with the N = len(srcs)
// widened values srcs[k][j] sorted by key and b the widened base[j],
//
//	med = vals[N/2]                                 N odd
//	med = float32(vals[N/2−1]+vals[N/2]) * 0.5      N even
//	dst[j] = narrow(b + float32(λ·med))
//
// It reports false when some input or output is not finite; dst is then
// partly written. It panics unless N ≥ 1 and every slice holds as many
// elements as dst.
func MedianEncoded(f Format, dst, base []byte, srcs [][]byte, lambda float32) bool {
	checkRobustEncoded("MedianEncoded", f, dst, base, srcs)
	return robustEncoded(f, dst, base, srcs, -1, lambda)
}

// TrimmedEncoded is TrimmedCombine on encoded elements: the k smallest and
// k largest of each element's values dropped, the rest summed ascending
// from +0 and divided by float32(N−2k), then dst[j] = narrow(b +
// float32(λ·mean)). It reports false and panics as MedianEncoded does, and
// panics unless 0 ≤ 2k < N.
func TrimmedEncoded(f Format, dst, base []byte, srcs [][]byte, k int, lambda float32) bool {
	checkRobustEncoded("TrimmedEncoded", f, dst, base, srcs)
	if k < 0 || k >= len(srcs)-k {
		panic("kernel: TrimmedEncoded: k out of range")
	}
	return robustEncoded(f, dst, base, srcs, k, lambda)
}

func checkRobustEncoded(op string, f Format, dst, base []byte, srcs [][]byte) {
	if len(srcs) == 0 {
		panic("kernel: " + op + ": no inputs")
	}
	checkFused(op, f, dst, base, srcs, make([]float32, len(srcs)))
}

// robustEncodedGeneric is the reference: blocks widened into float32s, the
// generic robust loops, narrowed; k < 0 is the median.
func robustEncodedGeneric(f Format, dst, base []byte, srcs [][]byte, k int, lambda float32) bool {
	ff := formatOf(f)
	xs := make([][]float32, len(srcs))
	for i := range xs {
		xs[i] = make([]float32, genericBlock)
	}
	var out, b [genericBlock]float32
	ok := true
	for at := 0; at < len(dst); at += genericBlock * ff.size {
		end := min(at+genericBlock*ff.size, len(dst))
		n := (end - at) / ff.size
		view := make([][]float32, len(xs))
		for i, s := range srcs {
			widenGeneric(f, xs[i][:n], s[at:end])
			ok = firstNonFiniteGeneric(xs[i][:n]) < 0 && ok
			view[i] = xs[i][:n]
		}
		widenGeneric(f, b[:n], base[at:end])
		if k < 0 {
			medianCombineGeneric(out[:n], b[:n], view, lambda)
		} else {
			trimmedCombineGeneric(out[:n], b[:n], view, k, lambda)
		}
		narrowGeneric(f, dst[at:end], out[:n])
		ok = finiteEncoded(ff, dst[at:end]) && ok
	}
	return ok
}
