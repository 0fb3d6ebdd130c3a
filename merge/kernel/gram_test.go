package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/potluck-hub/potluck/internal/simdtest"
)

// Gram and GramEncoded against DotLanes of every pair at the generic
// level, bit for bit, at every level.

// gramLengths are the lengths the Gram tests cover: simdtest's, and some
// that take several of the kernel's blocks.
var gramLengths = append(simdtest.Lengths(), 2*2048+13, 3*2048+8)

// gramWant is each pair's lanes from starts after DotLanes over xs, at the
// generic level, in Gram's order.
func gramWant(starts []*laneAcc, lane int, xs [][]float32) []laneAcc {
	want := make([]laneAcc, len(starts))
	p := 0
	for i := range xs {
		for j := i; j < len(xs); j++ {
			want[p] = *starts[p]
			atLevel(generic, func() { DotLanes(want[p].acc(), lane, xs[i], xs[j]) })
			p++
		}
	}
	return want
}

// gramStarts are k inputs' pairs' starting lanes: from newLaneAcc, or
// finite ones when finite is set.
func gramStarts(r *rand.Rand, k int, finite bool) []*laneAcc {
	starts := make([]*laneAcc, k*(k+1)/2)
	for p := range starts {
		starts[p] = newLaneAcc(r)
		for i, v := range starts[p].acc() {
			if finite && (math.IsInf(v, 0) || math.IsNaN(v)) {
				starts[p].acc()[i] = float64(i)
			}
		}
	}
	return starts
}

// gramRunAt runs fn on copies of starts at level l and returns them.
func gramRunAt(l level, starts []*laneAcc, fn func(acc []*[8]float64)) []laneAcc {
	got := make([]laneAcc, len(starts))
	accs := make([]*[8]float64, len(starts))
	for p := range starts {
		got[p] = *starts[p]
		accs[p] = got[p].acc()
	}
	atLevel(l, func() { fn(accs) })
	return got
}

// checkGramLanes fails t where got and want differ.
func checkGramLanes(t *testing.T, name string, got, want []laneAcc) {
	t.Helper()
	for p := range want {
		if i := sameLanes(&got[p], &want[p]); i >= 0 {
			t.Fatalf("%s: pair %d of %d: word %d: got %#016x, want %#016x", name, p, len(want), i,
				math.Float64bits(got[p].buf[i]), math.Float64bits(want[p].buf[i]))
		}
	}
}

// TestGram: Gram equals DotLanes of every pair, at every level, for 1 to 6
// inputs (beyond the kernel's 4, the rest through DotPairs), every lane
// start and length, on unaligned slices, with values of every magnitude
// and class.
func TestGram(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	for _, n := range gramLengths {
		for _, lane := range laneStarts {
			for k := 1; k <= 6; k++ {
				if n > 300 && r.IntN(4) != 0 {
					continue
				}
				gen := []func(*rand.Rand, int) []float32{finiteFloats, simdtest.RandFloats}[r.IntN(2)]
				xs := make([][]float32, k)
				for i := range xs {
					xs[i] = simdtest.Unaligned(gen(r, n), r.IntN(4))
				}
				starts := gramStarts(r, k, false)
				want := gramWant(starts, lane, xs)
				for _, l := range append(simdtest.Levels(), generic) {
					got := gramRunAt(l, starts, func(acc []*[8]float64) { Gram(acc, lane, xs) })
					checkGramLanes(t, fmtGram("Gram", l, n, lane, k), got, want)
				}
			}
		}
	}
}

// TestGramEncoded: GramEncoded equals DotLanes of every pair of the
// widened values, at every level, for 0 to 4 inputs in each format, and
// reports false exactly when some value is not finite (one put in the
// head, the vectors or the tail), also when a sum starts out not finite.
func TestGramEncoded(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 44))
	for _, f := range fusedFormats {
		for _, n := range gramLengths {
			for _, lane := range laneStarts {
				for k := 0; k <= GramEncodedMax; k++ {
					if n > 100 && r.IntN(6) != 0 {
						continue
					}
					raws, xs, finite := gramInputs(r, f, k, n)
					starts := gramStarts(r, k, r.IntN(4) != 0)
					want := gramWant(starts, lane, xs)
					for _, l := range append(simdtest.Levels(), generic) {
						var ok bool
						got := gramRunAt(l, starts, func(acc []*[8]float64) { ok = GramEncoded(f, acc, lane, raws) })
						name := fmtGram("GramEncoded "+fmtName(f), l, n, lane, k)
						if ok != finite {
							t.Fatalf("%s: reported %v, values finite: %v", name, ok, finite)
						}
						if finite {
							checkGramLanes(t, name, got, want)
						}
					}
				}
			}
		}
	}
}

// gramInputs are k inputs of n elements encoded in f (unaligned) and their
// widened values: ordinary ones of every magnitude, a third of the time
// one that is not finite among them; finite reports whether all are.
func gramInputs(r *rand.Rand, f Format, k, n int) (raws [][]byte, xs [][]float32, finite bool) {
	sz := f.Size()
	for range k {
		v := finiteFloats(r, n)
		raw := make([]byte, n*sz+1)[1:]
		for e := range v {
			putElemBits(f, raw, e, encode(f, v[e]))
		}
		raws = append(raws, raw)
	}
	if k > 0 && n > 0 && r.IntN(3) == 0 {
		bad := []uint32{0x7F800000, 0xFF800000, 0x7FC00001}[r.IntN(3)] // +Inf, −Inf, NaN as float32
		e := []int{0, n - 1, r.IntN(n)}[r.IntN(3)]
		putElemBits(f, raws[r.IntN(k)], e, encode(f, math.Float32frombits(bad)))
	}
	finite = true
	for _, raw := range raws {
		x := make([]float32, n)
		atLevel(generic, func() { widenGeneric(f, x, raw) })
		xs = append(xs, x)
		finite = finite && firstNonFiniteGeneric(x) < 0 // large float32s may round to ±Inf in 16 bits
	}
	return raws, xs, finite
}

func fmtGram(name string, l level, n, lane, k int) string {
	return fmt.Sprintf("%s %v n=%d lane=%d k=%d", name, l, n, lane, k)
}

func TestGramPanics(t *testing.T) {
	x := make([]float32, 8)
	acc := make([]*[8]float64, 3)
	simdtest.MustPanic(t, "Gram: too few pairs", func() { Gram(acc[:2], 0, [][]float32{x, x}) })
	simdtest.MustPanic(t, "Gram: lengths differ", func() { Gram(acc, 0, [][]float32{x, x[:7]}) })
	raw := make([]byte, 16)
	raws := [][]byte{raw, raw, raw, raw, raw}
	simdtest.MustPanic(t, "GramEncoded: 5 inputs", func() { GramEncoded(F32, make([]*[8]float64, 15), 0, raws) })
	simdtest.MustPanic(t, "GramEncoded: part of an element", func() { GramEncoded(F32, acc[:1], 0, [][]byte{raw[:6]}) })
}
