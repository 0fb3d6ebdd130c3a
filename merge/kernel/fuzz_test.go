package kernel

import (
	"encoding/binary"
	"math"
	"testing"
)

// FuzzDifferential runs every kernel, at every level this machine has, on
// the fuzzer's bytes (read as float32s and as 16-bit values) from an
// unaligned start, against the generic loops:
//
//	go test -fuzz FuzzDifferential ./merge/kernel
func FuzzDifferential(f *testing.F) {
	seed := make([]byte, 0, 4*len(specials))
	for _, b := range specials {
		seed = binary.LittleEndian.AppendUint32(seed, b)
	}
	f.Add(seed, uint8(0), uint32(0x3F800000))
	f.Add(seed[:67], uint8(3), uint32(0x7FC00001))
	f.Add(make([]byte, 300), uint8(1), uint32(0x80000000))
	f.Fuzz(func(t *testing.T, data []byte, off uint8, wbits uint32) {
		o := int(off % 4)
		n := len(data) / 4
		vals := make([]float32, n)
		for i := range vals {
			vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
		rev := make([]float32, n)
		for i := range rev {
			rev[i] = vals[n-1-i]
		}
		h := unaligned8(data[:len(data)&^1], o)
		x, y := unaligned(vals, o), unaligned(rev, (o+1)%4)
		w := math.Float32frombits(wbits)
		for _, l := range levels() {
			diff32(t, "WidenBF16", l, len(h)/2, 3-o, zero32, func(dst []float32) { widenBF16(dst, h) })
			diff32(t, "WidenF16", l, len(h)/2, 3-o, zero32, func(dst []float32) { widenF16(dst, h) })
			diff8(t, "NarrowBF16", l, 2*n, o+1, func(dst []byte) { narrowBF16(dst, x) })
			diff8(t, "NarrowF16", l, 2*n, o+1, func(dst []byte) { narrowF16(dst, x) })
			diffArith(t, "Axpy", l, n, 3-o, at(rev), func(acc []float32) { axpy(acc, w, x) })
			diffArith(t, "AddScaled", l, n, 3-o, zero32, func(out []float32) { addScaled(out, y, w, x) })
			diffArith(t, "AddInto", l, n, 3-o, at(rev), func(dst []float32) { addInto(dst, x) })
			diffArith(t, "ScaleBy", l, n, o, at(vals), func(v []float32) { scaleBy(v, w) })
			diffArith(t, "DivBy", l, n, o, at(vals), func(v []float32) { divBy(v, w) })
			var got, want int
			atLevel(generic, func() { want = firstNonFinite(x) })
			atLevel(l, func() { got = firstNonFinite(x) })
			if got != want {
				t.Fatalf("FirstNonFinite %s: %d, generic %d", l, got, want)
			}
		}
	})
}
