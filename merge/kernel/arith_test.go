package kernel

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/potluck-hub/potluck/internal/simdtest"
)

// scalars are the weights the arithmetic kernels are tried with.
var scalars = []float32{1, -1, 0.25, 1 + 0x1p-12, 3, 0, float32(math.Copysign(0, -1)), 1e-30, 1e30,
	math.Float32frombits(0x00000001), float32(math.Inf(1)), math.Float32frombits(0x7FC00001), math.Float32frombits(0xFF800123)}

// arithCases runs every arithmetic kernel, at level l, on n elements drawn
// from r, against the generic loops.
func arithCases(t *testing.T, l level, r *rand.Rand, n int, s float32) {
	t.Helper()
	off := r.IntN(4)
	a, b := simdtest.RandFloats(r, n), simdtest.RandFloats(r, n)
	x, y := simdtest.Unaligned(a, (off+1)%4), simdtest.Unaligned(b, (off+2)%4)
	simdtest.DiffArith(t, atLevel, "Axpy", l, n, off, simdtest.At(b), func(acc []float32) { axpy(acc, s, x) })
	simdtest.DiffArith(t, atLevel, "AddScaled", l, n, off, simdtest.Zero32, func(out []float32) { addScaled(out, y, s, x) })
	simdtest.DiffArith(t, atLevel, "AddInto", l, n, off, simdtest.At(b), func(dst []float32) { addInto(dst, x) })
	simdtest.DiffArith(t, atLevel, "ScaleBy", l, n, off, simdtest.At(a), func(v []float32) { scaleBy(v, s) })
	simdtest.DiffArith(t, atLevel, "DivBy", l, n, off, simdtest.At(a), func(v []float32) { divBy(v, s) })
}

func TestArithLengths(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, l := range simdtest.Levels() {
		for _, n := range simdtest.Lengths() {
			for _, s := range scalars {
				arithCases(t, l, r, n, s)
			}
		}
	}
}

// The FMA triple (see merge's kernels_test.go): fused, w·x + acc rounds
// once to 2⁻¹¹ + 2⁻²⁴; unfused it is 2⁻¹¹. Every level must give 2⁻¹¹.
func TestAxpyIsNotFused(t *testing.T) {
	const w = 1 + 0x1p-12
	for _, l := range append(simdtest.Levels(), generic) {
		acc, x := make([]float32, 67), make([]float32, 67)
		for i := range acc {
			acc[i], x[i] = -1, w
		}
		atLevel(l, func() { axpy(acc, w, x) })
		for i, v := range acc {
			if v != 0x1p-11 {
				t.Fatalf("%s: acc[%d] = %g, want 2⁻¹¹ (unfused)", l, i, v)
			}
		}
	}
}

func TestFirstNonFinite(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, l := range append(simdtest.Levels(), generic) {
		for _, n := range simdtest.Lengths() {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(r.NormFloat64())
			}
			check := func(want int) {
				t.Helper()
				var got int
				atLevel(l, func() { got = FirstNonFinite(x) })
				if got != want {
					t.Fatalf("%s n=%d: FirstNonFinite = %d, want %d", l, n, got, want)
				}
			}
			check(-1)
			for _, bad := range []uint32{0x7F800000, 0xFF800000, 0x7FC00000, 0xFF800001} {
				for _, i := range []int{0, n / 3, n - 1} {
					if i < 0 || i >= n {
						continue
					}
					old := x[i]
					x[i] = math.Float32frombits(bad)
					check(i)
					if j := (i + n) / 2; j > i && j < n {
						x[j] = float32(math.Inf(-1)) // a later one does not matter
						check(i)
						x[j] = 0
					}
					x[i] = old
				}
			}
		}
	}
}

func TestArithPanics(t *testing.T) {
	simdtest.MustPanic(t, "Axpy", func() { Axpy(make([]float32, 2), 1, make([]float32, 3)) })
	simdtest.MustPanic(t, "AddScaled", func() { AddScaled(make([]float32, 2), make([]float32, 2), 1, make([]float32, 1)) })
	simdtest.MustPanic(t, "AddInto", func() { AddInto(make([]float32, 2), make([]float32, 1)) })
	simdtest.MustPanic(t, "XorN", func() { XorN(make([]byte, 2), [][]byte{make([]byte, 2), make([]byte, 1)}) })
}

func TestXorN(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, l := range simdtest.Levels() {
		for _, n := range []int{0, 1, 255, 256, 257, 1000, 4096, 4096 + 77} {
			for k := range 5 {
				srcs := make([][]byte, k)
				for i := range srcs {
					b := make([]byte, n)
					for j := range b {
						b[j] = byte(r.Uint32())
					}
					srcs[i] = simdtest.Unaligned8(b, i)
				}
				simdtest.Diff8(t, atLevel, "XorN", l, n, k, func(dst []byte) { XorN(dst, srcs) })
			}
		}
	}
}
