package merge

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/potluck-hub/potluck/safetensors"
)

// How exact is Apply(base, Diff(base, ft))? These tests run the arithmetic
// Diff and Apply use (Diff: ft − base in float32 by axpy, or in float64
// for an F64 delta, encoded in the delta's dtype; Apply: applyChunk) over
// every pair, or many random and adversarial pairs, of values.

// values16 is every finite value of a 16-bit float dtype, as float32.
func values16(dt safetensors.DType) []float32 {
	var out []float32
	raw, v := make([]byte, 2), make([]float32, 1)
	for u := range 1 << 16 {
		binary.LittleEndian.PutUint16(raw, uint16(u))
		if err := safetensors.DecodeFloat32(v, raw, dt); err != nil {
			panic(err)
		}
		if f := float64(v[0]); !math.IsNaN(f) && !math.IsInf(f, 0) {
			out = append(out, v[0])
		}
	}
	return out
}

// tripper runs the arithmetic of Diff then Apply over slices of pairs,
// with its buffers kept between calls.
type tripper struct {
	ftDT, deltaDT safetensors.DType
	d32           []float32
	raw, out      []byte
	d, b, got     []float64
	tmp           []float32
	ok            []bool
}

func newTripper(n int, ftDT, deltaDT safetensors.DType) *tripper {
	return &tripper{ftDT: ftDT, deltaDT: deltaDT, d32: make([]float32, n), raw: make([]byte, 8*n), out: make([]byte, 8*n),
		d: make([]float64, n), b: make([]float64, n), got: make([]float64, n), tmp: make([]float32, n), ok: make([]bool, n)}
}

// run gives back, for each i, what Apply rebuilds from base[i] and the
// delta Diff makes of ft[i] − base[i]; ok[i] is false where the delta
// overflowed (Diff refuses such a delta).
func (r *tripper) run(base, ft []float32) (got []float64, ok []bool) {
	n := len(base)
	d32 := r.d32[:n]
	copy(d32, ft)
	axpy(d32, -1, base) // as Diff: ft − 1·base
	raw := r.raw[:n*r.deltaDT.Size()]
	if r.deltaDT == safetensors.F64 {
		for i := range n { // as Diff's F64 path
			binary.LittleEndian.PutUint64(raw[8*i:], math.Float64bits(float64(ft[i])-float64(base[i])))
		}
	} else if err := safetensors.EncodeFloat32(raw, d32, r.deltaDT); err != nil {
		panic(err)
	}
	if err := decodeFloat64s(r.d[:n], raw, r.deltaDT, r.tmp); err != nil {
		panic(err)
	}
	for i, v := range base {
		r.b[i] = float64(v)
	}
	out := r.out[:n*r.ftDT.Size()]
	applyChunk(out, r.b[:n], r.d[:n], r.ftDT, r.tmp)
	if err := decodeFloat64s(r.got[:n], out, r.ftDT, r.tmp); err != nil {
		panic(err)
	}
	for i := range n {
		r.ok[i] = !math.IsInf(r.d[i], 0) && (r.deltaDT == safetensors.F64 || !math.IsInf(float64(d32[i]), 0))
	}
	return r.got[:n], r.ok[:n]
}

// exactness tallies pairs by exponent gap: how many, how many exact, and
// one inexact pair per gap.
type exactness struct {
	pairs, exact [300]int
	example      [300][2]float64
}

// add tallies pairs whose gaps are given, or computed when gaps is nil.
func (x *exactness) add(base, ft []float32, got []float64, ok []bool, dt safetensors.DType, gaps []int) {
	for i := range base {
		if !ok[i] {
			continue
		}
		var g int
		if gaps != nil {
			g = gaps[i]
		} else {
			g = ExponentGap(float64(ft[i]), float64(base[i]), dt)
		}
		x.pairs[g]++
		if got[i] == float64(ft[i]) { // ±0 alike: Apply gives +0 for −0
			x.exact[g]++
		} else if x.example[g] == [2]float64{} {
			x.example[g] = [2]float64{float64(base[i]), float64(ft[i])}
		}
	}
}

// firstInexactGap is the smallest gap with an inexact pair (len if none).
func (x *exactness) firstInexactGap() int {
	for g := range x.pairs {
		if x.exact[g] != x.pairs[g] {
			return g
		}
	}
	return len(x.pairs)
}

// sweep runs every fine-tune value of fts against each base value of
// bases (deltas in F32) and tallies the pairs by exponent gap.
func sweep(bases, fts []float32, dt safetensors.DType) *exactness {
	minExp := -126
	if dt == safetensors.F16 {
		minExp = -14
	}
	binade := func(v float32) int { // as ExponentGap counts
		_, e := math.Frexp(float64(v))
		return max(e-1, minExp)
	}
	ftBinade := make([]int, len(fts))
	for i, v := range fts {
		ftBinade[i] = binade(v)
	}
	var x exactness
	base, gaps := make([]float32, len(fts)), make([]int, len(fts))
	r := newTripper(len(fts), dt, safetensors.F32)
	for _, b := range bases {
		for i, v := range fts {
			base[i], gaps[i] = b, 0
			if b != 0 && v != 0 {
				gaps[i] = ftBinade[i] - binade(b)
				gaps[i] = max(gaps[i], -gaps[i])
			}
		}
		got, ok := r.run(base, fts)
		x.add(base, fts, got, ok, dt, gaps)
	}
	return &x
}

// TestExactBF16InF32 checks the claim README makes: a bf16 fine-tune
// published with an F32 delta (--exact) comes back bit for bit wherever
// base and fine-tune are at most 16 binades apart, and not always beyond.
// The pairs: every finite bf16 fine-tune value against every base value of
// four binades' worth (the normal binade [1, 2), the subnormals and the
// smallest normal binade, the largest binade), both signs: exactness is
// the same for (a·2^k, b·2^k) away from the ends of the range, so these
// cover every exponent gap. POTLUCK_EXHAUSTIVE=1 runs every pair of
// finite bf16 values instead (4·10⁹, minutes).
func TestExactBF16InF32(t *testing.T) {
	all := values16(safetensors.BF16)
	var bases []float32
	if os.Getenv("POTLUCK_EXHAUSTIVE") != "" {
		bases = all
	} else {
		for _, v := range all {
			a := math.Abs(float64(v))
			if (a >= 1 && a < 2) || a < 0x1p-125 || a >= 0x1p127 {
				bases = append(bases, v)
			}
		}
	}
	x := sweep(bases, all, safetensors.BF16)
	g := x.firstInexactGap()
	t.Logf("%d base values × %d fine-tune values; every pair at most %d binades apart is exact; at %d, %d of %d pairs are (e.g. base %v, fine-tune %v)",
		len(bases), len(all), g-1, g, x.exact[g], x.pairs[g], x.example[g][0], x.example[g][1])
	if g != 17 {
		t.Errorf("the first exponent gap with an inexact pair is %d; the claim (README, DiffOptions.Exact) is 17", g)
	}
}

// TestExactF32InF64 checks that an f32 fine-tune published with an F64
// delta comes back bit for bit wherever base and fine-tune are at most 29
// binades apart: random pairs at every gap from 0 to 40, with random and
// adversarial significands (all ones, a single low bit, powers of two),
// both signs, across the exponent range.
func TestExactF32InF64(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 29))
	sig := func() uint32 {
		switch rng.IntN(4) {
		case 0:
			return 0x7FFFFF
		case 1:
			return 1
		case 2:
			return 0
		}
		return rng.Uint32() & 0x7FFFFF
	}
	f32 := func(exp int) float32 { // a float32 of binade exp, random sign
		bits := uint32(exp+127)<<23 | sig() | uint32(rng.IntN(2))<<31
		return math.Float32frombits(bits)
	}
	var x exactness
	const perGap = 20000
	for gap := 0; gap <= 40; gap++ {
		base, ft := make([]float32, perGap), make([]float32, perGap)
		for i := range perGap {
			e := -100 + rng.IntN(200-gap)
			if rng.IntN(2) == 0 {
				base[i], ft[i] = f32(e), f32(e+gap)
			} else {
				base[i], ft[i] = f32(e+gap), f32(e)
			}
		}
		got, ok := newTripper(perGap, safetensors.F32, safetensors.F64).run(base, ft)
		x.add(base, ft, got, ok, safetensors.F32, nil)
	}
	g := x.firstInexactGap()
	t.Logf("every pair at most %d binades apart is exact; at %d, %d of %d are (e.g. base %v, fine-tune %v)",
		g-1, g, x.exact[g], x.pairs[g], x.example[g][0], x.example[g][1])
	if g < 30 {
		t.Errorf("an f32 pair %d binades apart is inexact with an F64 delta: base %v, fine-tune %v", g, x.example[g][0], x.example[g][1])
	}
}

// TestApplyBoundBF16 measures Apply over the default delta of a bf16
// model (the delta in BF16, half the size of F32): each element comes
// back within one bf16 ulp of the larger of the fine-tune's value and the
// delta's, and exact where the delta is (base and fine-tune close enough
// that ft − base has 8 significant bits or fewer).
func TestApplyBoundBF16(t *testing.T) {
	all := values16(safetensors.BF16)
	var bases []float32
	for _, v := range all {
		if a := math.Abs(float64(v)); a >= 1 && a < 2 {
			bases = append(bases, v)
		}
	}
	ulp := func(x float64) float64 {
		_, e := math.Frexp(math.Abs(x))
		return math.Ldexp(1, max(e-1, -126)-7)
	}
	r := newTripper(len(all), safetensors.BF16, safetensors.BF16)
	base := make([]float32, len(all))
	var pairs, exact int
	worst := 0.0
	var worstPair [2]float32
	for _, b := range bases {
		for i := range base {
			base[i] = b
		}
		got, ok := r.run(base, all)
		for i, ft := range all {
			if !ok[i] {
				continue
			}
			pairs++
			f := float64(ft)
			if got[i] == f {
				exact++
				continue
			}
			m := math.Max(math.Abs(f), math.Abs(f-float64(b)))
			if e := math.Abs(got[i]-f) / ulp(m); e > worst {
				worst, worstPair = e, [2]float32{b, ft}
			}
		}
	}
	t.Logf("%d pairs, %d exact (%.1f%%); worst error %.3g bf16 ulps of max(|ft|, |ft − base|) (base %v, fine-tune %v)",
		pairs, exact, 100*float64(exact)/float64(pairs), worst, worstPair[0], worstPair[1])
	if worst > 1 {
		t.Errorf("an element came back %.3g ulps off (base %v, fine-tune %v); the bound README states is 1", worst, worstPair[0], worstPair[1])
	}
}

// TestExactF16InF32: an f16 fine-tune published with an F32 delta comes
// back bit for bit wherever base and fine-tune are at most 13 binades
// apart (f16 keeps 11 significant bits, F32 24). Every finite f16
// fine-tune value against one in 32 bases of [1, 2) and of the
// subnormals, drawn at random, both signs.
func TestExactF16InF32(t *testing.T) {
	all := values16(safetensors.F16)
	var bases []float32
	rng := rand.New(rand.NewPCG(16, 13))
	for _, v := range all {
		if a := math.Abs(float64(v)); (a < 0x1p-14 || (a >= 1 && a < 2)) && rng.IntN(32) == 0 {
			bases = append(bases, v)
		}
	}
	x := sweep(bases, all, safetensors.F16)
	g := x.firstInexactGap()
	t.Logf("%d bases × %d fine-tune values; every pair at most %d binades apart is exact; at %d, %d of %d are (e.g. base %v, fine-tune %v)",
		len(bases), len(all), g-1, g, x.exact[g], x.pairs[g], x.example[g][0], x.example[g][1])
	if g != 14 {
		t.Errorf("the first exponent gap with an inexact f16 pair is %d; the claim (DiffOptions.Exact) is 14", g)
	}
}
