package kernel

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/potluck-hub/potluck/internal/simdtest"
)

// tiesInputs returns k inputs of n elements from r: values drawn to make
// sign votes close (many zeros, ±0, opposite signs), specials included.
func tiesInputs(r *rand.Rand, k, n int) [][]float32 {
	xs := make([][]float32, k)
	for i := range xs {
		v := make([]float32, n)
		for j := range v {
			switch r.IntN(6) {
			case 0:
				v[j] = 0
			case 1:
				v[j] = float32(math.Copysign(0, -1))
			case 2:
				v[j] = math.Float32frombits(simdtest.RandBits(r))
			default:
				v[j] = float32(r.IntN(7) - 3)
			}
		}
		xs[i] = simdtest.Unaligned(v, (i+1)%4)
	}
	return xs
}

func TestTIES(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	weights := []float32{1, -1, 0.5, 0, 3, float32(math.Copysign(0, -1)), 1e-30, math.Float32frombits(0x7FC00001), float32(math.Inf(1))}
	for _, l := range simdtest.Levels() {
		for _, n := range simdtest.Lengths() {
			for k := range 6 {
				xs := tiesInputs(r, k, n)
				w := make([]float32, k)
				for i := range w {
					w[i] = weights[r.IntN(len(weights))]
				}
				base := simdtest.Unaligned(simdtest.RandFloats(r, n), 2)
				lambda := scalars[r.IntN(len(scalars))]
				for _, norm := range []bool{false, true} {
					simdtest.DiffArith(t, atLevel, "TIESWeighted", l, n, k%4, simdtest.Zero32, func(out []float32) { TIESWeighted(out, base, xs, w, lambda, norm) })
					simdtest.DiffArith(t, atLevel, "TIESPaper", l, n, k%4, simdtest.Zero32, func(out []float32) { TIESPaper(out, base, xs, w, lambda, norm) })
				}
			}
		}
	}
}

// Many inputs (more than the tail buffer holds) and ordinary weights.
func TestTIESManyInputs(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	xs := tiesInputs(r, 20, 100)
	w := make([]float32, 20)
	for i := range w {
		w[i] = float32(r.Float64())
	}
	base := simdtest.RandFloats(r, 100)
	for _, l := range simdtest.Levels() {
		simdtest.DiffArith(t, atLevel, "TIESWeighted", l, 100, 1, simdtest.Zero32, func(out []float32) { TIESWeighted(out, base, xs, w, 0.7, true) })
		simdtest.DiffArith(t, atLevel, "TIESPaper", l, 100, 1, simdtest.Zero32, func(out []float32) { TIESPaper(out, base, xs, w, 0.7, true) })
	}
}

// nans returns n NaNs with distinct payloads and signs, tagged by tag.
func nans(n int, tag uint32) []float32 {
	v := make([]float32, n)
	for j := range v {
		v[j] = math.Float32frombits(0x7F800001 | uint32(j&1)<<31 | (tag<<12+uint32(j))&0x3FFFFF)
	}
	return v
}

// NaN inputs everywhere: every level gives NaN exactly where the generic
// loop does (payloads aside, see the package doc) and touches nothing else.
func TestNaNPayloads(t *testing.T) {
	const n = 67
	xs := [][]float32{nans(n, 1), nans(n, 2), nans(n, 3)}
	w := []float32{math.Float32frombits(0x7FC00011), math.Float32frombits(0xFFA00022), 1}
	base := nans(n, 4)
	for _, l := range simdtest.Levels() {
		for _, norm := range []bool{false, true} {
			simdtest.DiffArith(t, atLevel, "TIESWeighted", l, n, 0, simdtest.Zero32, func(out []float32) { TIESWeighted(out, base, xs, w, w[1], norm) })
			simdtest.DiffArith(t, atLevel, "TIESPaper", l, n, 0, simdtest.Zero32, func(out []float32) { TIESPaper(out, base, xs, w, w[0], norm) })
		}
		for _, s := range w {
			simdtest.DiffArith(t, atLevel, "Axpy", l, n, 1, simdtest.At(xs[0]), func(acc []float32) { axpy(acc, s, xs[1]) })
			simdtest.DiffArith(t, atLevel, "AddScaled", l, n, 1, simdtest.Zero32, func(out []float32) { addScaled(out, xs[0], s, xs[1]) })
			simdtest.DiffArith(t, atLevel, "AddInto", l, n, 1, simdtest.At(xs[0]), func(dst []float32) { addInto(dst, xs[1]) })
			simdtest.DiffArith(t, atLevel, "ScaleBy", l, n, 1, simdtest.At(xs[0]), func(v []float32) { scaleBy(v, s) })
			simdtest.DiffArith(t, atLevel, "DivBy", l, n, 1, simdtest.At(xs[0]), func(v []float32) { divBy(v, s) })
		}
	}
}
