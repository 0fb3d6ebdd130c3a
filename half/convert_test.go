package half

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/potluck-hub/potluck/internal/isa"
	"github.com/potluck-hub/potluck/internal/simdtest"
)

// all16 is every 16-bit pattern, little-endian.
func all16() []byte {
	b := make([]byte, 2<<16)
	for h := range 1 << 16 {
		binary.LittleEndian.PutUint16(b[2*h:], uint16(h))
	}
	return b
}

func TestWidenEvery16BitPattern(t *testing.T) {
	src := all16()
	for _, l := range simdtest.Levels() {
		for off := range 3 {
			s := simdtest.Unaligned8(src, off) // odd byte starts too
			simdtest.Diff32(t, atLevel, "WidenBF16", l, 1<<16, off, simdtest.Zero32, func(dst []float32) { widenBF16(dst, s) })
			simdtest.Diff32(t, atLevel, "WidenF16", l, 1<<16, off, simdtest.Zero32, func(dst []float32) { widenF16(dst, s) })
		}
	}
}

func TestNarrowSpecials(t *testing.T) {
	src := make([]float32, 0, 2*len(simdtest.Specials))
	for _, b := range simdtest.Specials {
		src = append(src, math.Float32frombits(b), math.Float32frombits(b^0x80000000))
	}
	for _, l := range simdtest.Levels() {
		for off := range 3 {
			s := simdtest.Unaligned(src, off)
			simdtest.Diff8(t, atLevel, "NarrowBF16", l, 2*len(s), 2*off+1, func(dst []byte) { narrowBF16(dst, s) })
			simdtest.Diff8(t, atLevel, "NarrowF16", l, 2*len(s), 2*off+1, func(dst []byte) { narrowF16(dst, s) })
		}
	}
}

// Narrowing every float32 that differs from a 16-bit value by a few ulps
// of the 16-bit format around every exponent: ties, carries, overflow and
// the f16 subnormal range.
func TestNarrowEveryExponent(t *testing.T) {
	var src []float32
	for e := uint32(0); e < 256; e++ {
		for _, m := range []uint32{0, 1, 0x0FFF, 0x1000, 0x1001, 0x1FFF, 0x2000, 0x3000, 0x7FFF, 0x8000, 0x8001, 0x18000, 0x7FE000, 0x7FEFFF, 0x7FF000, 0x7FF001, 0x7F8000, 0x7FFFFF, 0x400000, 0x400001} {
			b := e<<23 | m
			src = append(src, math.Float32frombits(b), math.Float32frombits(b|0x80000000))
		}
	}
	for _, l := range simdtest.Levels() {
		simdtest.Diff8(t, atLevel, "NarrowBF16", l, 2*len(src), 0, func(dst []byte) { narrowBF16(dst, src) })
		simdtest.Diff8(t, atLevel, "NarrowF16", l, 2*len(src), 0, func(dst []byte) { narrowF16(dst, src) })
	}
}

func TestConvertLengths(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, l := range simdtest.Levels() {
		for _, n := range simdtest.Lengths() {
			off := r.IntN(4)
			h := simdtest.Unaligned8(simdtest.Halves(r, n), off)
			f := simdtest.Unaligned(simdtest.RandFloats(r, n), off)
			simdtest.Diff32(t, atLevel, "WidenBF16", l, n, 3-off, simdtest.Zero32, func(dst []float32) { widenBF16(dst, h) })
			simdtest.Diff32(t, atLevel, "WidenF16", l, n, 3-off, simdtest.Zero32, func(dst []float32) { widenF16(dst, h) })
			simdtest.Diff8(t, atLevel, "NarrowBF16", l, 2*n, off^1, func(dst []byte) { narrowBF16(dst, f) })
			simdtest.Diff8(t, atLevel, "NarrowF16", l, 2*n, off^1, func(dst []byte) { narrowF16(dst, f) })
			w := simdtest.Unaligned8(f32Bytes(f), off^1)
			simdtest.Diff32(t, atLevel, "ReadF32", l, n, off, simdtest.Zero32, func(dst []float32) { readF32(dst, w) })
			simdtest.Diff8(t, atLevel, "WriteF32", l, 4*n, off^3, func(dst []byte) { writeF32(dst, f) })
		}
	}
}

func TestConvertPanics(t *testing.T) {
	simdtest.MustPanic(t, "WidenBF16", func() { WidenBF16(make([]float32, 2), make([]byte, 3)) })
	simdtest.MustPanic(t, "WidenF16", func() { WidenF16(make([]float32, 2), make([]byte, 5)) })
	simdtest.MustPanic(t, "NarrowBF16", func() { NarrowBF16(make([]byte, 3), make([]float32, 2)) })
	simdtest.MustPanic(t, "NarrowF16", func() { NarrowF16(make([]byte, 4), make([]float32, 1)) })
	simdtest.MustPanic(t, "ReadF32", func() { ReadF32(make([]float32, 1), make([]byte, 5)) })
	simdtest.MustPanic(t, "WriteF32", func() { WriteF32(make([]byte, 3), make([]float32, 1)) })
}

// TestNarrowEveryFloat32 narrows all 2³² float32 patterns at every level
// (about a minute): POTLUCK_KERNEL_EXHAUSTIVE=1 go test -run EveryFloat32.
func TestNarrowEveryFloat32(t *testing.T) {
	if os.Getenv("POTLUCK_KERNEL_EXHAUSTIVE") == "" {
		t.Skip("set POTLUCK_KERNEL_EXHAUSTIVE=1 to narrow every float32")
	}
	const block = 1 << 20
	src := make([]float32, block)
	want, got := make([]byte, 2*block), make([]byte, 2*block)
	for start := uint64(0); start < 1<<32; start += block {
		for i := range src {
			src[i] = math.Float32frombits(uint32(start) + uint32(i))
		}
		for _, k := range []struct {
			name string
			fn   func([]byte, []float32)
		}{{"NarrowBF16", narrowBF16}, {"NarrowF16", narrowF16}} {
			atLevel(isa.Generic, func() { k.fn(want, src) })
			for _, l := range simdtest.Levels() {
				atLevel(l, func() { k.fn(got, src) })
				if i := simdtest.SameBytes(want, got); i >= 0 {
					t.Fatalf("%s %s: float32 %#08x: got %#04x, generic %#04x", k.name, l,
						uint32(start)+uint32(i/2), binary.LittleEndian.Uint16(got[i&^1:]), binary.LittleEndian.Uint16(want[i&^1:]))
				}
			}
		}
	}
}

// f32Bytes encodes v little-endian.
func f32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}
