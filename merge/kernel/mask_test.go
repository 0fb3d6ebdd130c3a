package kernel

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/potluck-hub/potluck/internal/simdtest"
)

// The masking kernels against straightforward references, and at every
// level against the generic loops, bit for bit, on guarded slices.

// splitMix64 is SplitMix64 as published (Steele, Lea and Flood 2014;
// Vigna's splitmix64.c): the state advances by γ, the output is the
// finaliser of the new state.
type splitMix64 uint64

func (s *splitMix64) next() uint64 {
	*s += 0x9E3779B97F4A7C15
	z := uint64(*s)
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// dareDraw is element i's draw, straight from DAREMask's doc.
func dareDraw(key uint64, off int64, i int) uint64 {
	s := splitMix64(key + uint64(off+int64(i))*0x9E3779B97F4A7C15)
	return s.next() >> 11
}

// dareRef is DAREMask by the doc's definition, one element at a time.
func dareRef(x []float32, key uint64, off int64, keep uint64) {
	for i := range x {
		if dareDraw(key, off, i) >= keep {
			x[i] = 0
		}
	}
}

// maskBetweenRef is MaskBetween by its definition.
func maskBetweenRef(x []float32, lo, hi int64) {
	for i, v := range x {
		k := int64(math.Float32bits(v) & 0x7FFFFFFF)
		if !(lo <= k && k < hi) {
			x[i] = 0
		}
	}
}

// The published first outputs of SplitMix64 from seed 0, which are
// DAREMask's draws for key 0 from element 0 of a tensor.
var splitMixSeed0 = []uint64{0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F}

func TestSplitMixReference(t *testing.T) {
	var s splitMix64
	for i, want := range splitMixSeed0 {
		if got := s.next(); got != want {
			t.Fatalf("output %d: %#x, want %#x", i+1, got, want)
		}
		if got := splitMix(uint64(i+1) * dareGamma); got != want {
			t.Fatalf("splitMix((%d)γ) = %#x, want %#x", i+1, got, want)
		}
	}
}

// TestDAREKnown checks each level on the published draws: with keep the
// draw itself an element is dropped, with keep one more it is kept.
func TestDAREKnown(t *testing.T) {
	for _, l := range append(simdtest.Levels(), generic) {
		for n := 1; n <= 40; n++ {
			for j, z := range splitMixSeed0 {
				u := z >> 11
				for _, off := range []int{0, j} { // element j of the tensor, first or at index j
					i := j - off
					if i >= n {
						continue
					}
					for _, keep := range []uint64{u, u + 1} {
						x := make([]float32, n)
						for e := range x {
							x[e] = 1
						}
						atLevel(l, func() { DAREMask(x, 0, int64(off), keep) })
						want := float32(0)
						if keep > u {
							want = 1
						}
						if x[i] != want {
							t.Fatalf("%s n=%d off=%d keep=%#x: x[%d] = %g, want %g", l, n, off, keep, i, x[i], want)
						}
					}
				}
			}
		}
	}
}

// dareKeeps are the keep thresholds tried: none, all, the engine's
// densities and the extremes.
func dareKeeps(r *rand.Rand) []uint64 {
	return []uint64{0, 1, 1 << 52, uint64(math.Ceil(0.1 * (1 << 53))), uint64(math.Ceil(0.9 * (1 << 53))),
		1<<53 - 1, 1 << 53, 1<<53 + 1, 1 << 63, math.MaxUint64, r.Uint64N(1 << 53)}
}

// dareOffs are the element offsets tried, wrapping ones included.
func dareOffs(r *rand.Rand) []int64 {
	return []int64{0, 1, 7, 1 << 40, 1<<40 - 3, math.MaxInt64, math.MaxInt64 - 5, -1, -9, math.MinInt64, int64(r.Uint64())}
}

func TestDAREMask(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	keys := []uint64{0, 1, math.MaxUint64, 0x9E3779B97F4A7C15, r.Uint64()}
	for _, n := range simdtest.Lengths() {
		vals := simdtest.RandFloats(r, n)
		for _, key := range keys {
			for _, off := range dareOffs(r) {
				for _, keep := range dareKeeps(r) {
					if n > 300 && r.IntN(8) != 0 {
						continue // the long slices on a sample
					}
					checkDARE(t, vals, r.IntN(4), key, off, keep)
				}
			}
		}
	}
}

// checkDARE runs DAREMask on vals from a guarded, unaligned slice at every
// level and the generic loop, against dareRef.
func checkDARE(t *testing.T, vals []float32, align int, key uint64, off int64, keep uint64) {
	t.Helper()
	want, wantAll := simdtest.Padded32(len(vals), align, simdtest.At(vals))
	dareRef(want, key, off, keep)
	for _, l := range append(simdtest.Levels(), generic) {
		got, gotAll := simdtest.Padded32(len(vals), align, simdtest.At(vals))
		atLevel(l, func() { DAREMask(got, key, off, keep) })
		if i := simdtest.SameBits32(wantAll, gotAll); i >= 0 {
			t.Fatalf("DAREMask %s n=%d align=%d key=%#x off=%d keep=%#x: buffer element %d (slice element %d): got %#08x, want %#08x",
				l, len(vals), align, key, off, keep, i, i-simdtest.Guard-align, math.Float32bits(gotAll[i]), math.Float32bits(wantAll[i]))
		}
	}
}

// TestDAREWithoutDQ runs the avx512 level as a CPU without AVX512DQ does:
// dareMask falls back to the AVX2 code.
func TestDAREWithoutDQ(t *testing.T) {
	defer func(dq bool) { hasDQ = dq }(hasDQ)
	hasDQ = false
	r := rand.New(rand.NewPCG(21, 22))
	for _, n := range []int{0, 7, 8, 67, 1000} {
		checkDARE(t, simdtest.RandFloats(r, n), 1, r.Uint64(), int64(r.Uint64()), r.Uint64N(1<<53))
	}
}

// TestDARERate checks the drop rate: about 1 − keep/2⁵³ of 1 Mi elements.
func TestDARERate(t *testing.T) {
	const n = 1 << 20
	for _, l := range append(simdtest.Levels(), generic) {
		for _, p := range []float64{0.1, 0.5, 0.9} {
			x := make([]float32, n)
			for i := range x {
				x[i] = 1
			}
			atLevel(l, func() { DAREMask(x, 12345, 678, uint64(math.Ceil(p*(1<<53)))) })
			kept := 0
			for _, v := range x {
				if v != 0 {
					kept++
				}
			}
			if got := float64(kept) / n; math.Abs(got-p) > 0.005 {
				t.Errorf("%s p=%g: kept %g", l, p, got)
			}
		}
	}
}

// keyBounds are the MaskBetween bounds tried on data vals: the ends, the
// keys of the values and their neighbours, and out-of-range ones.
func keyBounds(r *rand.Rand, vals []float32) []int64 {
	bs := []int64{0, 1, 0x7F800000, 0x7F800001, 0x7FFFFFFF, 1 << 31, 1<<31 + 1, 1 << 32, -1, math.MinInt64, math.MaxInt64}
	for range 4 {
		if len(vals) > 0 {
			k := int64(math.Float32bits(vals[r.IntN(len(vals))]) & 0x7FFFFFFF)
			bs = append(bs, k, k+1, k-1)
		}
	}
	return bs
}

func TestMaskBetween(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, n := range simdtest.Lengths() {
		vals := simdtest.RandFloats(r, n)
		bs := keyBounds(r, vals)
		for _, lo := range bs {
			for _, hi := range bs {
				if n > 300 && r.IntN(8) != 0 {
					continue
				}
				checkMaskBetween(t, vals, r.IntN(4), lo, hi)
			}
		}
	}
}

func checkMaskBetween(t *testing.T, vals []float32, align int, lo, hi int64) {
	t.Helper()
	want, wantAll := simdtest.Padded32(len(vals), align, simdtest.At(vals))
	maskBetweenRef(want, lo, hi)
	for _, l := range append(simdtest.Levels(), generic) {
		got, gotAll := simdtest.Padded32(len(vals), align, simdtest.At(vals))
		atLevel(l, func() { MaskBetween(got, lo, hi) })
		if i := simdtest.SameBits32(wantAll, gotAll); i >= 0 {
			t.Fatalf("MaskBetween %s n=%d align=%d lo=%#x hi=%#x: buffer element %d (slice element %d): got %#08x, want %#08x",
				l, len(vals), align, lo, hi, i, i-simdtest.Guard-align, math.Float32bits(gotAll[i]), math.Float32bits(wantAll[i]))
		}
	}
}

// fewValues is n values drawn from a few, so that keys repeat.
func fewValues(r *rand.Rand, n int) []float32 {
	pool := make([]float32, 1+r.IntN(6))
	for i := range pool {
		pool[i] = math.Float32frombits(simdtest.RandBits(r))
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = pool[r.IntN(len(pool))]
		if r.IntN(2) == 0 {
			v[i] = -v[i] // the same key
		}
	}
	return v
}

// TestCountKeyChunks counts in chunks of 16 elements a call of the
// assembly, as a slice of over 2³⁰ elements is counted.
func TestCountKeyChunks(t *testing.T) {
	defer func(c int) { countChunk = c }(countChunk)
	countChunk = 16
	testCountKey(t, rand.New(rand.NewPCG(23, 24)), simdtest.Lengths())
}

func TestCountKey(t *testing.T) {
	testCountKey(t, rand.New(rand.NewPCG(15, 16)), append(simdtest.Lengths(), 1<<20+5))
}

func testCountKey(t *testing.T, r *rand.Rand, ns []int) {
	for _, n := range ns {
		for range 4 {
			vals := fewValues(r, n)
			x := simdtest.Unaligned(vals, r.IntN(4))
			keys := []uint32{0, 0x7F800000, 0x7FC00000, 0x80000000, 0xFFFFFFFF, r.Uint32()}
			if n > 0 {
				b := math.Float32bits(vals[r.IntN(n)])
				keys = append(keys, b&0x7FFFFFFF, b|0x80000000)
			}
			for _, key := range keys {
				want := 0
				for _, v := range vals {
					if math.Float32bits(v)&0x7FFFFFFF == key {
						want++
					}
				}
				for _, l := range append(simdtest.Levels(), generic) {
					var got int
					atLevel(l, func() { got = CountKey(x, key) })
					if got != want {
						t.Fatalf("CountKey %s n=%d key=%#x: %d, want %d", l, n, key, got, want)
					}
				}
			}
		}
	}
}

// laneAcc is a guarded accumulator: acc is words 1…8 of buf.
type laneAcc struct{ buf [10]float64 }

func newLaneAcc(r *rand.Rand) *laneAcc {
	a := &laneAcc{}
	a.buf[0], a.buf[9] = math.Float64frombits(0x7FF8DEADDEADDEAD), math.Float64frombits(0xFFF0BEEFBEEFBEEF)
	for i := 1; i <= 8; i++ {
		switch r.IntN(4) {
		case 0:
			a.buf[i] = 0
		case 1:
			a.buf[i] = r.Float64() * 1e3
		case 2:
			a.buf[i] = float64(float32(r.NormFloat64()))
		default:
			a.buf[i] = math.Float64frombits(r.Uint64())
		}
	}
	return a
}

func (a *laneAcc) acc() *[8]float64 { return (*[8]float64)(a.buf[1:9]) }

// sameLanes reports the first word where a and b differ, or -1: in their
// bits, except that any NaN matches any NaN (as for the other arithmetic
// kernels, the payload of a NaN result is not defined).
func sameLanes(a, b *laneAcc) int {
	for i := range a.buf {
		x, y := math.Float64bits(a.buf[i]), math.Float64bits(b.buf[i])
		if x != y && !(math.IsNaN(a.buf[i]) && math.IsNaN(b.buf[i])) {
			return i
		}
	}
	return -1
}

// checkLanes runs kernel at every level and the generic loop on copies of
// start, against ref's result.
func checkLanes(t *testing.T, name string, start *laneAcc, ref func(acc *[8]float64), kernel func(acc *[8]float64)) {
	t.Helper()
	want := *start
	ref(want.acc())
	for _, l := range append(simdtest.Levels(), generic) {
		got := *start
		atLevel(l, func() { kernel(got.acc()) })
		if i := sameLanes(&got, &want); i >= 0 {
			t.Fatalf("%s %s: word %d (lane %d): got %#016x (%g), want %#016x (%g)", name, l, i, i-1,
				math.Float64bits(got.buf[i]), got.buf[i], math.Float64bits(want.buf[i]), want.buf[i])
		}
	}
}

// laneStarts are the first lanes tried: every lane, and some that only
// agree with one mod 8.
var laneStarts = []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 13, -1, -8, math.MaxInt - 2, math.MinInt + 3}

// finiteFloats are n finite values of mixed magnitudes, whose sums are
// exact bits to compare (no NaN to hide a difference).
func finiteFloats(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		for {
			b := simdtest.RandBits(r)
			if b&0x7F800000 != 0x7F800000 {
				v[i] = math.Float32frombits(b)
				break
			}
		}
	}
	return v
}

func TestSumAbsLanes(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	for _, n := range simdtest.Lengths() {
		for _, lane := range laneStarts {
			for _, gen := range []func(*rand.Rand, int) []float32{finiteFloats, simdtest.RandFloats} {
				vals := gen(r, n)
				x := simdtest.Unaligned(vals, r.IntN(4))
				ref := func(acc *[8]float64) {
					for i, v := range vals {
						acc[(lane+i)&7] += math.Abs(float64(v))
					}
				}
				checkLanes(t, "SumAbsLanes", newLaneAcc(r), ref, func(acc *[8]float64) { SumAbsLanes(acc, lane, x) })
			}
		}
	}
}

func TestDotLanes(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 20))
	for _, n := range simdtest.Lengths() {
		for _, lane := range laneStarts {
			for _, gen := range []func(*rand.Rand, int) []float32{finiteFloats, simdtest.RandFloats} {
				av, bv := gen(r, n), gen(r, n)
				a, b := simdtest.Unaligned(av, r.IntN(4)), simdtest.Unaligned(bv, r.IntN(4))
				ref := func(acc *[8]float64) {
					for i := range av {
						p := float64(av[i]) * float64(bv[i])
						acc[(lane+i)&7] += p
					}
				}
				checkLanes(t, "DotLanes", newLaneAcc(r), ref, func(acc *[8]float64) { DotLanes(acc, lane, a, b) })
			}
		}
	}
}

// TestLaneOrder checks that each lane adds in element order: 2⁵³ then
// 1s is 2⁵³ whatever the number of 1s, 1s then 2⁵³ is not.
func TestLaneOrder(t *testing.T) {
	for _, l := range append(simdtest.Levels(), generic) {
		for _, n := range []int{64, 67, 1000} {
			x := make([]float32, n)
			for i := range x {
				x[i] = 1
			}
			for i := range 8 {
				x[i] = 1 << 53
			}
			var acc [8]float64
			atLevel(l, func() { SumAbsLanes(&acc, 0, x) })
			for j, v := range acc {
				if v != 1<<53 {
					t.Fatalf("%s n=%d: lane %d = %v, want 2⁵³", l, n, j, v)
				}
			}
		}
	}
}

func TestMaskPanics(t *testing.T) {
	var acc [8]float64
	simdtest.MustPanic(t, "DotLanes", func() { DotLanes(&acc, 0, make([]float32, 2), make([]float32, 3)) })
}

// FuzzDAREMask: go test -fuzz FuzzDAREMask ./merge/kernel
func FuzzDAREMask(f *testing.F) {
	f.Add(simdtest.SpecialBytes(), uint8(0), uint64(0), int64(0), uint64(1<<52))
	f.Add(simdtest.SpecialBytes()[:67], uint8(3), uint64(math.MaxUint64), int64(math.MaxInt64-3), uint64(1<<53))
	f.Add(make([]byte, 300), uint8(1), uint64(0x123456789), int64(1<<40), uint64(0))
	f.Add(make([]byte, 64), uint8(2), uint64(7), int64(-5), uint64(math.MaxUint64))
	f.Fuzz(func(t *testing.T, data []byte, align uint8, key uint64, off int64, keep uint64) {
		checkDARE(t, simdtest.FloatsOf(data), int(align%4), key, off, keep)
	})
}

// FuzzMaskBetween (and CountKey): go test -fuzz FuzzMaskBetween ./merge/kernel
func FuzzMaskBetween(f *testing.F) {
	f.Add(simdtest.SpecialBytes(), uint8(0), int64(0), int64(1<<32), uint32(0))
	f.Add(simdtest.SpecialBytes(), uint8(1), int64(0x3F800000), int64(0x7F800000), uint32(0x7F800000))
	f.Add(simdtest.SpecialBytes()[:67], uint8(3), int64(1<<32), int64(1<<32), uint32(0x3F800000))
	f.Add(make([]byte, 300), uint8(2), int64(-1), int64(1), uint32(0))
	f.Add(make([]byte, 64), uint8(1), int64(math.MinInt64), int64(math.MaxInt64), uint32(0x80000000))
	f.Fuzz(func(t *testing.T, data []byte, align uint8, lo, hi int64, key uint32) {
		vals := simdtest.FloatsOf(data)
		checkMaskBetween(t, vals, int(align%4), lo, hi)
		x := simdtest.Unaligned(vals, int(align%4))
		want := 0
		for _, v := range vals {
			if math.Float32bits(v)&0x7FFFFFFF == key {
				want++
			}
		}
		for _, l := range append(simdtest.Levels(), generic) {
			var got int
			atLevel(l, func() { got = CountKey(x, key) })
			if got != want {
				t.Fatalf("CountKey %s n=%d key=%#x: %d, want %d", l, len(vals), key, got, want)
			}
		}
	})
}

// fuzzAcc is an accumulator from 8 fuzzed words.
func fuzzAcc(bits [8]uint64) *laneAcc {
	a := &laneAcc{}
	a.buf[0], a.buf[9] = math.Float64frombits(0x7FF8DEADDEADDEAD), math.Float64frombits(0xFFF0BEEFBEEFBEEF)
	for i, b := range bits {
		a.buf[i+1] = math.Float64frombits(b)
	}
	return a
}

// FuzzSumAbsLanes: go test -fuzz FuzzSumAbsLanes ./merge/kernel
func FuzzSumAbsLanes(f *testing.F) {
	f.Add(simdtest.SpecialBytes(), uint8(0), int64(0), uint64(0), uint64(0))
	f.Add(simdtest.SpecialBytes()[:67], uint8(3), int64(5), uint64(0x7FF0000000000000), uint64(0x3FF0000000000000))
	f.Add(make([]byte, 300), uint8(1), int64(-3), uint64(0x8000000000000000), uint64(0x7FF8000000000001))
	f.Fuzz(func(t *testing.T, data []byte, align uint8, lane int64, a0, a5 uint64) {
		vals := simdtest.FloatsOf(data)
		x := simdtest.Unaligned(vals, int(align%4))
		ref := func(acc *[8]float64) {
			for i, v := range vals {
				acc[(int(lane)+i)&7] += math.Abs(float64(v))
			}
		}
		start := fuzzAcc([8]uint64{a0, 0, math.Float64bits(1), 0x8000000000000000, 0x7FF0000000000000, a5, 0x000FFFFFFFFFFFFF, 0x4340000000000000})
		checkLanes(t, "SumAbsLanes", start, ref, func(acc *[8]float64) { SumAbsLanes(acc, int(lane), x) })
	})
}

// FuzzDotLanes: go test -fuzz FuzzDotLanes ./merge/kernel
func FuzzDotLanes(f *testing.F) {
	f.Add(simdtest.SpecialBytes(), uint8(0), int64(0), uint64(0))
	f.Add(simdtest.SpecialBytes()[:67], uint8(3), int64(5), uint64(0x7FF0000000000000))
	f.Add(make([]byte, 300), uint8(1), int64(-3), uint64(0x8000000000000000))
	f.Fuzz(func(t *testing.T, data []byte, align uint8, lane int64, a0 uint64) {
		vals := simdtest.FloatsOf(data)
		n := len(vals)
		rev := make([]float32, n)
		for i := range rev {
			rev[i] = vals[n-1-i]
		}
		a, b := simdtest.Unaligned(vals, int(align%4)), simdtest.Unaligned(rev, int(align/4%4))
		ref := func(acc *[8]float64) {
			for i := range vals {
				acc[(int(lane)+i)&7] += float64(float64(vals[i]) * float64(rev[i]))
			}
		}
		start := fuzzAcc([8]uint64{a0, 0, math.Float64bits(1), 0x8000000000000000, 0x7FF0000000000000, 0xFFF0000000000000, 0x000FFFFFFFFFFFFF, 0x4340000000000000})
		checkLanes(t, "DotLanes", start, ref, func(acc *[8]float64) { DotLanes(acc, int(lane), a, b) })
	})
}

// dare2Ref is DAREMask2 by its doc, one element at a time.
func dare2Ref(x []float32, key uint64, off int64, keep uint32) {
	for i := range x {
		e := uint64(off) + uint64(i)
		var s splitMix64 = splitMix64(key + (e>>2)*0x9E3779B97F4A7C15)
		if uint32(s.next()>>(16*(e&3)))&0xFFFF >= keep {
			x[i] = 0
		}
	}
}

// dare2Keeps are DAREMask2's thresholds tried.
func dare2Keeps(r *rand.Rand) []uint32 {
	return []uint32{0, 1, 0x7FFF, 0x8000, 0xFFFF, 1 << 16, 1<<16 + 1, math.MaxUint32, uint32(math.Ceil(0.3 * (1 << 16))), r.Uint32N(1 << 16)}
}

func TestDAREMask2(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	keys := []uint64{0, 1, math.MaxUint64, 0x9E3779B97F4A7C15, r.Uint64()}
	for _, n := range simdtest.Lengths() {
		vals := simdtest.RandFloats(r, n)
		for _, key := range keys {
			for _, off := range append(dareOffs(r), 2, 3, 5, 6) {
				for _, keep := range dare2Keeps(r) {
					if n > 300 && r.IntN(8) != 0 {
						continue
					}
					checkDARE2(t, vals, r.IntN(4), key, off, keep)
				}
			}
		}
	}
}

func checkDARE2(t *testing.T, vals []float32, align int, key uint64, off int64, keep uint32) {
	t.Helper()
	want, wantAll := simdtest.Padded32(len(vals), align, simdtest.At(vals))
	dare2Ref(want, key, off, keep)
	for _, l := range append(simdtest.Levels(), generic) {
		got, gotAll := simdtest.Padded32(len(vals), align, simdtest.At(vals))
		atLevel(l, func() { DAREMask2(got, key, off, keep) })
		if i := simdtest.SameBits32(wantAll, gotAll); i >= 0 {
			t.Fatalf("DAREMask2 %s n=%d align=%d key=%#x off=%d keep=%#x: buffer element %d (slice element %d): got %#08x, want %#08x",
				l, len(vals), align, key, off, keep, i, i-simdtest.Guard-align, math.Float32bits(gotAll[i]), math.Float32bits(wantAll[i]))
		}
	}
}

// TestDAREMask2Uniform checks DARE2Uniform against the mask: an element is
// kept exactly when its uniform is below keep.
func TestDAREMask2Uniform(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	key, off := r.Uint64(), int64(r.Uint32())
	x := make([]float32, 1000)
	for i := range x {
		x[i] = 1
	}
	DAREMask2(x, key, off, 30000)
	for i, v := range x {
		u := DARE2Uniform(key, uint64(off)+uint64(i))
		if (v != 0) != (u < 30000) {
			t.Fatalf("element %d: u = %d, kept %v", i, u, v != 0)
		}
	}
}

func TestDARE2WithoutDQ(t *testing.T) {
	defer func(dq bool) { hasDQ = dq }(hasDQ)
	hasDQ = false
	r := rand.New(rand.NewPCG(35, 36))
	for _, n := range []int{0, 7, 16, 67, 1000} {
		checkDARE2(t, simdtest.RandFloats(r, n), 1, r.Uint64(), int64(r.Uint32()), r.Uint32N(1<<16))
	}
}

// TestDotPairs: DotPairs equals DotLanes of each pair, at every level, for
// 1 to 9 pairs (several calls of the grouped kernels), every lane start and
// length.
func TestDotPairs(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	for _, n := range simdtest.Lengths() {
		for _, lane := range laneStarts {
			if n > 300 && r.IntN(4) != 0 {
				continue
			}
			np := 1 + r.IntN(9)
			gen := []func(*rand.Rand, int) []float32{finiteFloats, simdtest.RandFloats}[r.IntN(2)]
			as, bs := make([][]float32, np), make([][]float32, np)
			starts := make([]*laneAcc, np)
			for p := range np {
				as[p], bs[p] = simdtest.Unaligned(gen(r, n), r.IntN(4)), simdtest.Unaligned(gen(r, n), r.IntN(4))
				starts[p] = newLaneAcc(r)
			}
			want := make([]laneAcc, np)
			for p := range np {
				want[p] = *starts[p]
				atLevel(generic, func() { DotLanes(want[p].acc(), lane, as[p], bs[p]) })
			}
			for _, l := range append(simdtest.Levels(), generic) {
				got := make([]laneAcc, np)
				accs := make([]*[8]float64, np)
				for p := range np {
					got[p] = *starts[p]
					accs[p] = got[p].acc()
				}
				atLevel(l, func() { DotPairs(accs, lane, as, bs) })
				for p := range np {
					if i := sameLanes(&got[p], &want[p]); i >= 0 {
						t.Fatalf("DotPairs %s n=%d lane=%d pair %d of %d: word %d: got %#016x, want %#016x", l, n, lane, p, np, i,
							math.Float64bits(got[p].buf[i]), math.Float64bits(want[p].buf[i]))
					}
				}
			}
		}
	}
}

// FirstInBins finds the first element in either bin at every level, for
// hits in each lane of a block, in the tail, in neither (the whole
// length), with both bins the same, on unaligned bytes, with the sign set.
func TestFirstInBins(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for _, n := range append(simdtest.Lengths(), 1000, 4099) {
		for trial := range 12 {
			b0, b1 := uint32(r.IntN(0x7F80)), uint32(r.IntN(0x7F80))
			if trial%4 == 0 {
				b1 = b0
			}
			raw := make([]byte, 4*n+1)[1:] // unaligned
			for i := range n {
				k := uint32(r.IntN(0x7F800000))
				for k>>16 == b0 || k>>16 == b1 {
					k = uint32(r.IntN(0x7F800000))
				}
				binary.LittleEndian.PutUint32(raw[4*i:], k|uint32(r.IntN(2))<<31)
			}
			want := n
			if n > 0 && trial%3 != 0 { // one hit somewhere, another later
				want = r.IntN(n)
				bin := []uint32{b0, b1}[r.IntN(2)]
				binary.LittleEndian.PutUint32(raw[4*want:], bin<<16|uint32(r.IntN(1<<16))|uint32(r.IntN(2))<<31)
				if later := want + 1 + r.IntN(n-want); later < n {
					binary.LittleEndian.PutUint32(raw[4*later:], b0<<16)
				}
			}
			for _, l := range append(simdtest.Levels(), generic) {
				var got int
				atLevel(l, func() { got = FirstInBins(raw, b0, b1) })
				if got != want {
					t.Fatalf("FirstInBins %s n=%d bins %#x %#x: %d, want %d", l, n, b0, b1, got, want)
				}
			}
		}
	}
}

// DARE2L1 gives, at every level and for each format, exactly the lane
// sums of |x| before and after DAREMask2 that widening, SumAbsLanes,
// DAREMask2 and SumAbsLanes again give (the generic level throughout),
// from any first element e and for any length; a value that is not
// finite makes it report false.
func TestDARE2L1(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	for _, f := range []Format{BF16, F16, F32} {
		sz := f.Size()
		for _, n := range append(simdtest.Lengths(), 1000, 4099) {
			for trial := range 6 {
				raw := make([]byte, n*sz+1)[1:] // unaligned
				for i := range n {
					v := float32(r.NormFloat64()) * 0.01
					if trial == 5 && i%7 == 0 {
						v = 0
					}
					switch f {
					case BF16:
						binary.LittleEndian.PutUint16(raw[2*i:], uint16(math.Float32bits(v)>>16))
					case F16:
						binary.LittleEndian.PutUint16(raw[2*i:], uint16(r.IntN(0x7C00))|uint16(r.IntN(2))<<15)
					default:
						binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
					}
				}
				key, e := r.Uint64(), uint64(r.IntN(1<<20))
				keep := uint32(1 + r.IntN(1<<16))
				if trial == 4 {
					keep = 1 << 16
				}
				x := make([]float32, n)
				for i := range n {
					switch f {
					case BF16:
						x[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(raw[2*i:])) << 16)
					case F16:
						x[i] = math.Float32frombits(F16ToF32Bits(binary.LittleEndian.Uint16(raw[2*i:])))
					default:
						x[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
					}
				}
				var wantB, wantA [8]float64
				atLevel(generic, func() {
					SumAbsLanes(&wantB, int(e&7), x)
					DAREMask2(x, key, int64(e), keep)
					SumAbsLanes(&wantA, int(e&7), x)
				})
				for _, l := range append(simdtest.Levels(), generic) {
					var b, a [8]float64
					var ok bool
					atLevel(l, func() { ok = DARE2L1(f, raw, key, e, keep, &b, &a) })
					if !ok || b != wantB || a != wantA {
						t.Fatalf("DARE2L1 %s %v n=%d e=%d keep=%d: ok %v\nbefore %v\nwant   %v\nafter  %v\nwant   %v", l, f, n, e, keep, ok, b, wantB, a, wantA)
					}
				}
				if n > 0 {
					bad := slices.Clone(raw)
					i := r.IntN(n)
					switch f {
					case BF16:
						binary.LittleEndian.PutUint16(bad[2*i:], 0x7F80)
					case F16:
						binary.LittleEndian.PutUint16(bad[2*i:], 0xFE00)
					default:
						binary.LittleEndian.PutUint32(bad[4*i:], 0xFF800000)
					}
					for _, l := range append(simdtest.Levels(), generic) {
						var b, a [8]float64
						var ok bool
						atLevel(l, func() { ok = DARE2L1(f, bad, key, e, keep, &b, &a) })
						if ok {
							t.Fatalf("DARE2L1 %s %v n=%d: element %d is not finite, reported true", l, f, n, i)
						}
					}
				}
			}
		}
	}
}
