package half

import (
	"math"
	"math/rand/v2"
	"testing"
)

// f16Value decodes a half from its definition, independently of F16ToF32Bits.
func f16Value(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp, mant := int(h>>10&0x1F), float64(h&0x3FF)
	switch exp {
	case 0:
		return sign * math.Ldexp(mant, -24)
	case 0x1F:
		if mant != 0 {
			return math.NaN()
		}
		return sign * math.Inf(1)
	}
	return sign * math.Ldexp(1024+mant, exp-25)
}

func TestF16Exhaustive(t *testing.T) {
	for i := range 1 << 16 {
		h := uint16(i)
		f := f16ToF32(h)
		if want := f16Value(h); math.IsNaN(want) != math.IsNaN(float64(f)) ||
			!math.IsNaN(want) && (float64(f) != want || math.Signbit(want) != math.Signbit(float64(f))) {
			t.Fatalf("f16ToF32(%#04x) = %v, want %v", h, f, want)
		}
		back := f32ToF16(f)
		if isNaNF16(h) && !isNaNF16(back) || !isNaNF16(h) && back != h {
			t.Fatalf("f32ToF16(f16ToF32(%#04x)) = %#04x", h, back)
		}
	}
}

func TestBF16Exhaustive(t *testing.T) {
	for i := range 1 << 16 {
		h := uint16(i)
		back := f32ToBF16(bf16ToF32(h))
		if isNaNBF16(h) && !isNaNBF16(back) || !isNaNBF16(h) && back != h {
			t.Fatalf("f32ToBF16(bf16ToF32(%#04x)) = %#04x", h, back)
		}
	}
}

// checkNearest verifies that h is a correctly rounded narrowing of x: no
// neighbouring pattern is closer, and a tie went to the even pattern. Overflow
// checks rely on IEEE rounding: values at or past max + ulp/2 become Inf.
func checkNearest(t *testing.T, name string, x float32, h uint16, value func(uint16) float64, maxBits uint16) {
	t.Helper()
	v, xf := value(h), float64(x)
	mag := h & 0x7FFF
	below := value(maxBits)
	above := 2*below - value(maxBits-1) // the next value the format would have
	if overflow := math.Abs(xf) >= (below+above)/2; overflow != math.IsInf(v, 0) {
		t.Fatalf("%s(%v) = %#04x: overflow to Inf is %v, want %v", name, x, h, !overflow, overflow)
	}
	if math.IsInf(v, 0) {
		return
	}
	for _, n := range []uint16{mag - 1, mag + 1} {
		if n > maxBits || mag == 0 && n == 0xFFFF {
			continue
		}
		nv := math.Copysign(value(n), v)
		d, nd := math.Abs(xf-v), math.Abs(xf-nv)
		if nd < d || nd == d && mag&1 == 1 {
			t.Fatalf("%s(%v) = %#04x (%v), but %#04x (%v) is nearer or an even tie", name, x, h, v, h&0x8000|n, nv)
		}
	}
}

func randomF32(r *rand.Rand) float32 {
	b := r.Uint32()
	if b&0x7F800000 == 0x7F800000 {
		b &^= 0x40000000 // keep clear of Inf/NaN, tested separately
	}
	return math.Float32frombits(b)
}

func TestF32ToF16Nearest(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		// Scale into and around the half range so every exponent is exercised.
		x := randomF32(r)
		if x == 0 {
			continue
		}
		x = float32(math.Ldexp(math.Abs(float64(x))/math.Pow(2, float64(math.Ilogb(float64(x)))),
			r.IntN(48)-30))
		if r.IntN(2) == 0 {
			x = -x
		}
		checkNearest(t, "F32ToF16", x, f32ToF16(x), f16Value, 0x7BFF)
	}
}

func TestF32ToBF16Nearest(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	bf16Value := func(h uint16) float64 { return float64(math.Float32frombits(uint32(h) << 16)) }
	for range 200000 {
		x := randomF32(r)
		checkNearest(t, "F32ToBF16", x, f32ToBF16(x), bf16Value, 0x7F7F)
	}
}
