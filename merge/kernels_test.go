package merge

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The triple below tells a fused multiply-add from the unfused kernels:
// w·x = (1+2⁻¹²)² = 1 + 2⁻¹¹ + 2⁻²⁴ exactly. Rounded to float32 (ulp 2⁻²³
// at 1) that is a tie, which goes to the even 1 + 2⁻¹¹; adding -1 gives 2⁻¹¹.
// A fused w·x + acc rounds only once, keeping 2⁻¹¹ + 2⁻²⁴.
const (
	fmaW   = 1 + 0x1p-12
	fmaX   = 1 + 0x1p-12
	fmaAcc = -1.0
)

func TestUnfusedTripleDiffers(t *testing.T) {
	fused := float32(math.FMA(fmaW, fmaX, fmaAcc)) // exact in float64, then rounded once
	if fused != 0x1p-11+0x1p-24 || fused == 0x1p-11 {
		t.Fatalf("fused result %g: the triple does not separate fused from unfused", fused)
	}
}

// negZero is −0: in Go the literal -0.0 is +0.
var negZero = float32(math.Copysign(0, -1))

func TestAxpy(t *testing.T) {
	acc := []float32{fmaAcc, 1, negZero, 1, 1, 1, 7}
	x := []float32{fmaX, 3, 0, 0x1p-24, 3 * 0x1p-24, -1, 99}
	want := []float32{
		0x1p-11,     // unfused: float32(w·x) = 1 + 2⁻¹¹, then + (-1)
		1 + 3*fmaW,  // 3·w = 3 + 3·2⁻¹² is exact, and so is the sum
		0,           // -0 + 0·w = +0 (bits compared: an acc left alone stays -0)
		1 + 0x1p-23, // 1 + 2⁻²⁴·w is just over half an ulp past 1: rounds up
		1 + 0x1p-22, // 1 + 3·2⁻²⁴·w, just over 1.5 ulp: rounds to 2 ulp
		1 - fmaW,    // 1 − w = -2⁻¹², exact
	}
	axpy(acc[:6], fmaW, x) // x is longer: only len(acc) elements are used
	for i, w := range want {
		if math.Float32bits(acc[i]) != math.Float32bits(w) {
			t.Errorf("axpy: acc[%d] = %g, want %g", i, acc[i], w)
		}
	}
	if acc[6] != 7 || x[6] != 99 {
		t.Errorf("axpy wrote past len(acc): acc[6] = %g, x[6] = %g", acc[6], x[6])
	}
}

func TestAddScaled(t *testing.T) {
	base := []float32{fmaAcc, 0.5, 1, -2, 5}
	acc := []float32{fmaX, 0, 1, 0.75, 5}
	out := make([]float32, 4)
	addScaled(out, base, fmaW, acc)
	want := []float32{
		0x1p-11,                  // unfused, as in axpy
		0.5,                      // + w·0
		1 + fmaW,                 // 2 + 2⁻¹², exact
		-2 + 0.75 + 0.75*0x1p-12, // -1.25 + 0.75·2⁻¹², exact in float32
	}
	for i := range want {
		if out[i] != want[i] {
			t.Errorf("addScaled: out[%d] = %g, want %g", i, out[i], want[i])
		}
	}
	if base[0] != fmaAcc || acc[0] != fmaX {
		t.Error("addScaled changed its inputs")
	}
}

func TestAddInto(t *testing.T) {
	dst := []float32{1, 1, -2, 0.1, 4}
	x := []float32{0x1p-24, 3 * 0x1p-24, 2, 0.2, 8}
	addInto(dst[:4], x)
	want := []float32{1, 1 + 0x1p-22, 0, 0.3}
	// 0.1f + 0.2f: the sum of the two float32 values, exact in float64,
	// rounded once to float32.
	want[3] = float32(float64(float32(0.1)) + float64(float32(0.2)))
	for i := range want {
		if dst[i] != want[i] {
			t.Errorf("addInto: dst[%d] = %g, want %g", i, dst[i], want[i])
		}
	}
	if dst[4] != 4 {
		t.Errorf("addInto wrote past len(dst): %g", dst[4])
	}
}

// Over random triples, axpy and addScaled equal the unfused float32
// operations computed in float64 (a product or sum of two float32 values
// rounded to float64 and then to float32 equals the float32 operation:
// float64 has more than 2·24+2 bits, so double rounding is harmless), and
// differ from a fused multiply-add on some of them.
func TestKernelsUnfusedRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	r := func() float32 { return float32(math.Ldexp(2*rng.Float64()-1, rng.IntN(8)-4)) }
	const n = 10000
	acc, x, base, out := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range acc {
		acc[i], x[i], base[i] = r(), r(), r()
	}
	w := r()
	unfused := func(w, x, acc float32) float32 {
		p := float32(float64(w) * float64(x))
		return float32(float64(p) + float64(acc))
	}
	wantAxpy := make([]float32, n)
	fusedDiffers := 0
	for i := range acc {
		wantAxpy[i] = unfused(w, x[i], acc[i])
		if float32(math.FMA(float64(w), float64(x[i]), float64(acc[i]))) != wantAxpy[i] {
			fusedDiffers++
		}
	}
	addScaled(out, base, w, acc)
	for i := range out {
		if want := unfused(w, acc[i], base[i]); out[i] != want {
			t.Fatalf("addScaled: %g + %g·%g = %g, want %g", base[i], w, acc[i], out[i], want)
		}
	}
	axpy(acc, w, x)
	for i := range acc {
		if acc[i] != wantAxpy[i] {
			t.Fatalf("axpy: element %d = %g, want %g", i, acc[i], wantAxpy[i])
		}
	}
	if fusedDiffers == 0 {
		t.Error("no triple tells fused from unfused: the test shows nothing")
	}
}

func TestFirstNonFinite(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for _, tc := range []struct {
		x    []float32
		want int
	}{
		{nil, -1},
		// −0 has the sign bit set: a check of the raw bits that forgets
		// to clear it would take it for a NaN.
		{[]float32{0, negZero, 1, math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32}, -1},
		{[]float32{negZero, negZero, -math.SmallestNonzeroFloat32, nan}, 3},
		{[]float32{nan}, 0},
		{[]float32{1, 2, inf, nan}, 2},
		{[]float32{1, -inf}, 1},
		{[]float32{0, 0, 0, nan, inf}, 3},
	} {
		if got := firstNonFinite(tc.x); got != tc.want {
			t.Errorf("firstNonFinite(%v) = %d, want %d", tc.x, got, tc.want)
		}
	}
}
