package merge

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"testing"
)

// The deterministic functions agree with package math to within two units
// in the last place (Go's pure-Go exp is within 2 of amd64's assembly; on
// amd64, where Go fuses nothing, sin, cos and acos are math's bit for
// bit), and give fixed bits: the digest of their values
// at fixed arguments is pinned, so a platform or compiler that rounded
// differently would fail here.
func TestDetMath(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	h := fnv.New64a()
	put := func(v float64) {
		b := math.Float64bits(v)
		h.Write([]byte{byte(b), byte(b >> 8), byte(b >> 16), byte(b >> 24), byte(b >> 32), byte(b >> 40), byte(b >> 48), byte(b >> 56)})
	}
	check := func(name string, x, got, want float64) {
		t.Helper()
		if got != want && math.Abs(got-want) > 2*ulp64(want) {
			t.Errorf("%s(%v) = %v, math says %v", name, x, got, want)
		}
	}
	for i := range 20000 {
		x := (rng.Float64()*2 - 1) * math.Pow(10, float64(i%9-4))
		check("exp", x, dExp(x), math.Exp(x))
		if a := math.Abs(x); a > 0 {
			check("log", a, dLog(a), math.Log(a))
			put(dLog(a))
		}
		s, c := dSinCos(x)
		check("sin", x, s, math.Sin(x))
		check("cos", x, c, math.Cos(x))
		c1 := math.Max(-1, math.Min(1, x))
		check("acos", c1, dAcos(c1), math.Acos(c1))
		put(dExp(x))
		put(s)
		put(c)
		put(dAcos(c1))
	}
	for _, x := range []float64{0, math.Copysign(0, -1), 1, -1, math.Pi, math.Inf(1), math.Inf(-1), 800, -800} {
		check("exp", x, dExp(x), math.Exp(x))
		check("acos", x, dAcos(max(-1, min(1, x))), math.Acos(max(-1, min(1, x))))
	}
	const want = 0x389b9335489e4469
	if got := h.Sum64(); got != want {
		t.Errorf("digest %#x, want %#x", got, uint64(want))
	}
}

func ulp64(v float64) float64 {
	return math.Abs(math.Nextafter(v, math.Inf(1)) - v)
}
