package kernel

import (
	"math"
	"testing"

	"github.com/potluck-hub/potluck/internal/simdtest"
)

// FuzzDifferential runs the element-wise kernels, at every level this
// machine has, on the fuzzer's bytes (read as float32s) from an unaligned
// start, against the generic loops (half's FuzzDifferential does the same
// for the conversions):
//
//	go test -fuzz FuzzDifferential ./merge/kernel
func FuzzDifferential(f *testing.F) {
	seed := simdtest.SpecialBytes()
	f.Add(seed, uint8(0), uint32(0x3F800000))
	f.Add(seed[:67], uint8(3), uint32(0x7FC00001))
	f.Add(make([]byte, 300), uint8(1), uint32(0x80000000))
	f.Fuzz(func(t *testing.T, data []byte, off uint8, wbits uint32) {
		o := int(off % 4)
		vals := simdtest.FloatsOf(data)
		n := len(vals)
		rev := make([]float32, n)
		for i := range rev {
			rev[i] = vals[n-1-i]
		}
		x, y := simdtest.Unaligned(vals, o), simdtest.Unaligned(rev, (o+1)%4)
		w := math.Float32frombits(wbits)
		for _, l := range simdtest.Levels() {
			simdtest.DiffArith(t, atLevel, "Axpy", l, n, 3-o, simdtest.At(rev), func(acc []float32) { axpy(acc, w, x) })
			simdtest.DiffArith(t, atLevel, "AddScaled", l, n, 3-o, simdtest.Zero32, func(out []float32) { addScaled(out, y, w, x) })
			simdtest.DiffArith(t, atLevel, "AddInto", l, n, 3-o, simdtest.At(rev), func(dst []float32) { addInto(dst, x) })
			simdtest.DiffArith(t, atLevel, "ScaleBy", l, n, o, simdtest.At(vals), func(v []float32) { scaleBy(v, w) })
			simdtest.DiffArith(t, atLevel, "DivBy", l, n, o, simdtest.At(vals), func(v []float32) { divBy(v, w) })
			var got, want int
			atLevel(generic, func() { want = firstNonFinite(x) })
			atLevel(l, func() { got = firstNonFinite(x) })
			if got != want {
				t.Fatalf("FirstNonFinite %s: %d, generic %d", l, got, want)
			}
		}
	})
}
