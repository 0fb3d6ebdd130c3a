package half

import (
	"testing"

	"github.com/potluck-hub/potluck/internal/simdtest"
)

// FuzzDifferential runs every slice conversion, at every level this
// machine has, on the fuzzer's bytes (read as 16-bit values, as float32s
// and as encoded float32) from an unaligned start, against the generic
// loops:
//
//	go test -fuzz FuzzDifferential ./half
func FuzzDifferential(f *testing.F) {
	seed := simdtest.SpecialBytes()
	f.Add(seed, uint8(0))
	f.Add(seed[:67], uint8(3))
	f.Add(make([]byte, 300), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, off uint8) {
		o := int(off % 4)
		vals := simdtest.FloatsOf(data)
		n := len(vals)
		h := simdtest.Unaligned8(data[:len(data)&^1], o)
		w := simdtest.Unaligned8(data[:4*n], o^1)
		x := simdtest.Unaligned(vals, o)
		for _, l := range simdtest.Levels() {
			simdtest.Diff32(t, atLevel, "WidenBF16", l, len(h)/2, 3-o, simdtest.Zero32, func(dst []float32) { widenBF16(dst, h) })
			simdtest.Diff32(t, atLevel, "WidenF16", l, len(h)/2, 3-o, simdtest.Zero32, func(dst []float32) { widenF16(dst, h) })
			simdtest.Diff8(t, atLevel, "NarrowBF16", l, 2*n, o+1, func(dst []byte) { narrowBF16(dst, x) })
			simdtest.Diff8(t, atLevel, "NarrowF16", l, 2*n, o+1, func(dst []byte) { narrowF16(dst, x) })
			simdtest.Diff32(t, atLevel, "ReadF32", l, n, o, simdtest.Zero32, func(dst []float32) { readF32(dst, w) })
			simdtest.Diff8(t, atLevel, "WriteF32", l, 4*n, o^3, func(dst []byte) { writeF32(dst, x) })
		}
	})
}
