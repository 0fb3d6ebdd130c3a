package kernel

// The fused weighted sums: one pass over N encoded inputs and the encoded
// base, writing the encoded output, for the merge methods that are a
// weighted sum of deltas (task arithmetic, fedavg, model_stock, linear).
// Widening, scaling, accumulating, the finiteness checks and narrowing
// happen in registers, so each input byte is read once and each output byte
// written once: the pass runs at the speed of memory, where the separate
// slice kernels (widen, axpy, add, narrow) would each stream the chunk again.
//
// The arithmetic is exactly that of the slice kernels, in the same order
// (multiply rounded, then add, every sum from +0): a chunk merged here and
// one merged through half.WidenBF16, Axpy, DivBy, AddScaled and
// half.NarrowBF16 have the same bits.

// Format is the encoding of a tensor's elements: little-endian bfloat16,
// IEEE half or float32.
type Format uint8

const (
	BF16 Format = iota + 1
	F16
	F32
)

// Size is the bytes per element.
func (f Format) Size() int {
	if f == F32 {
		return 4
	}
	return 2
}

// SumScaled computes, for every element j, with xₖ the widened srcs[k][j]
// and b the widened base[j]:
//
//	acc = +0
//	acc = acc + float32(w[k]·xₖ)   for k in order
//	acc = acc / div                 when div ≠ 1
//	dst[j] = narrow(b + float32(λ·acc))
//
// It reports false when some xₖ is not finite or some narrowed result is
// not finite in f; dst is then partly written, and the caller redoes the
// chunk element by element to name the culprit. It panics unless every
// slice holds the same number of elements and len(w) == len(srcs).
func SumScaled(f Format, dst, base []byte, srcs [][]byte, w []float32, div, lambda float32) bool {
	checkFused("SumScaled", f, dst, base, srcs, w)
	return sumScaled(f, dst, base, srcs, w, div, lambda)
}

// SumLinear computes the model soup, for every element j:
//
//	acc = +0
//	acc = acc + float32(w[k]·(xₖ + b))   for k in order
//	dst[j] = narrow(acc)
//
// reporting false and panicking as SumScaled does.
func SumLinear(f Format, dst, base []byte, srcs [][]byte, w []float32) bool {
	checkFused("SumLinear", f, dst, base, srcs, w)
	return sumLinear(f, dst, base, srcs, w)
}

func checkFused(op string, f Format, dst, base []byte, srcs [][]byte, w []float32) {
	if f != BF16 && f != F16 && f != F32 {
		panic("kernel: " + op + ": unknown format")
	}
	mustLen(op, len(dst)%f.Size(), 0)
	mustLen(op, len(base), len(dst))
	mustLen(op, len(w), len(srcs))
	for _, s := range srcs {
		mustLen(op, len(s), len(dst))
	}
}
