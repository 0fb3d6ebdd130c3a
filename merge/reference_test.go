package merge_test

// The float64 references and the formats' encodings, written from their
// definitions (IEEE 754 binary16, bfloat16 as the top half of binary32), not
// taken from the code under test, and the bound a merged value must meet.

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/potluck-hub/potluck/safetensors"
)

// format is a float dtype's precision (significand bits, the implicit one
// included) and its smallest normal exponent.
func format(t testing.TB, dt safetensors.DType) (prec, emin int) {
	switch dt {
	case safetensors.F32:
		return 24, -126
	case safetensors.BF16:
		return 8, -126
	case safetensors.F16:
		return 11, -14
	}
	t.Fatalf("no float format for %s", dt)
	return 0, 0
}

// ulp is the spacing of dt's values at |v|'s magnitude.
func ulp(t testing.TB, dt safetensors.DType, v float64) float64 {
	prec, emin := format(t, dt)
	e := emin
	if v != 0 {
		_, exp := math.Frexp(math.Abs(v)) // |v| = f·2^exp, f in [0.5, 1)
		e = max(exp-1, emin)
	}
	return math.Ldexp(1, e-(prec-1))
}

// roundTo rounds v to the nearest value of dt, ties to even (no overflow:
// test values are small).
func roundTo(t testing.TB, dt safetensors.DType, v float64) float64 {
	q := ulp(t, dt, v)
	return math.RoundToEven(v/q) * q
}

// encode returns the little-endian bytes of a tensor's values.
func encode(t testing.TB, td tensor) []byte {
	if td.Raw != nil {
		return td.Raw
	}
	if td.DType == safetensors.I64 {
		b := make([]byte, 8*len(td.Ints))
		for i, v := range td.Ints {
			binary.LittleEndian.PutUint64(b[8*i:], uint64(v))
		}
		return b
	}
	size := td.DType.Size()
	b := make([]byte, size*len(td.Vals))
	for i, v := range td.Vals {
		switch td.DType {
		case safetensors.F32:
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(float32(v)))
		case safetensors.BF16:
			binary.LittleEndian.PutUint16(b[2*i:], uint16(math.Float32bits(float32(v))>>16))
		case safetensors.F16:
			binary.LittleEndian.PutUint16(b[2*i:], f16Bits(v))
		}
	}
	if back := decode(t, td.DType, b); !sameFloats(back, td.Vals) {
		t.Fatalf("tensor %s: values are not all representable in %s", td.Name, td.DType)
	}
	return b
}

func sameFloats(a, b []float64) bool {
	for i := range a {
		if a[i] != b[i] && !(math.IsNaN(a[i]) && math.IsNaN(b[i])) {
			return false
		}
	}
	return len(a) == len(b)
}

// f16Bits encodes a value representable in IEEE half precision.
func f16Bits(v float64) uint16 {
	var sign uint16
	if math.Signbit(v) {
		sign, v = 0x8000, -v
	}
	switch {
	case math.IsNaN(v):
		return 0x7E00
	case math.IsInf(v, 0):
		return sign | 0x7C00
	case v == 0:
		return sign
	case v < math.Ldexp(1, -14): // subnormal: a multiple of 2^-24
		return sign | uint16(v*(1<<24))
	}
	_, exp := math.Frexp(v)
	e := exp - 1
	mant := (math.Ldexp(v, -e) - 1) * 1024
	return sign | uint16(e+15)<<10 | uint16(mant)
}

// f16Value decodes IEEE half precision.
func f16Value(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp, mant := int(h>>10&0x1F), float64(h&0x3FF)
	switch exp {
	case 0x1F:
		if mant != 0 {
			return math.NaN()
		}
		return math.Inf(int(sign))
	case 0:
		return sign * math.Ldexp(mant, -24)
	}
	return sign * math.Ldexp(1+mant/1024, exp-15)
}

// decode widens little-endian float bytes to float64, exactly.
func decode(t testing.TB, dt safetensors.DType, b []byte) []float64 {
	size := dt.Size()
	out := make([]float64, len(b)/size)
	for i := range out {
		switch dt {
		case safetensors.F32:
			out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
		case safetensors.BF16:
			out[i] = float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16))
		case safetensors.F16:
			out[i] = f16Value(binary.LittleEndian.Uint16(b[2*i:]))
		default:
			t.Fatalf("decode %s: not a float dtype", dt)
		}
	}
	return out
}

// randVals draws n values uniform in (-scale, scale), rounded to dt, every
// zeroEvery-th one (from the first) exactly 0.
func randVals(t testing.TB, rng *rand.Rand, n int, dt safetensors.DType, scale float64, zeroEvery int) []float64 {
	v := make([]float64, n)
	for i := range v {
		if zeroEvery > 0 && i%zeroEvery == 0 {
			continue
		}
		v[i] = roundTo(t, dt, scale*(2*rng.Float64()-1))
	}
	return v
}

// checkValues compares a float tensor read back from the output with a
// float64 reference computed from the inputs' exact values.
//
// The engine computes in float32 and rounds once more to the output dtype.
// Each float32 operation rounds its exact result with relative error at most
// u = 2^-24, and every partial result is bounded by mag[i], the sum of the
// magnitudes of all the reference's terms; so ops roundings move the float32
// result f by at most (ops+1)·u·mag[i] from ref[i] (the +1 absorbs second
// order terms). The output y = round_dt(f), and round_dt(ref[i]) is within
// half an ulp of ref[i], so
//
//	|y − round_dt(ref)| ≤ ulp_dt + (ops+1)·u·mag
//
// where ulp_dt is one rounding step of the output dtype at the larger of the
// two magnitudes. It returns how many elements break the bound.
func checkValues(t testing.TB, name string, dt safetensors.DType, raw []byte, ref, mag []float64, ops int, report bool) int {
	t.Helper()
	got := decode(t, dt, raw)
	if len(got) != len(ref) {
		t.Fatalf("tensor %s: %d elements, want %d", name, len(got), len(ref))
	}
	bad := 0
	for i := range ref {
		want := roundTo(t, dt, ref[i])
		tol := ulp(t, dt, max(math.Abs(want), math.Abs(got[i]))) + float64(ops+1)*math.Ldexp(mag[i], -24)
		if d := math.Abs(got[i] - want); !(d <= tol) {
			bad++
			if report && bad <= 5 {
				t.Errorf("tensor %s[%d] (%s): got %v, want %v (reference %v), off by %g > bound %g",
					name, i, dt, got[i], want, ref[i], d, tol)
			}
		}
	}
	return bad
}

// taskArithmetic is θ₀ + λ Σ wᵢ δᵢ in float64 (a nil delta is absent: zero),
// with the magnitude bound for checkValues.
func taskArithmetic(base []float64, lambda float64, weights []float64, deltas [][]float64) (ref, mag []float64) {
	ref, mag = make([]float64, len(base)), make([]float64, len(base))
	for i, b := range base {
		var sum, abs float64
		for k, d := range deltas {
			if d != nil {
				sum += weights[k] * d[i]
				abs += math.Abs(weights[k] * d[i])
			}
		}
		ref[i] = b + lambda*sum
		mag[i] = math.Abs(b) + math.Abs(lambda)*abs
	}
	return ref, mag
}

// linear is Σ wᵢ θᵢ with θᵢ = θ₀ + δᵢ (θ₀ where delta i is absent), divided
// by Σ wᵢ when normalize.
func linear(base []float64, weights []float64, normalize bool, deltas [][]float64) (ref, mag []float64) {
	var wsum float64
	for _, w := range weights {
		wsum += w
	}
	ref, mag = make([]float64, len(base)), make([]float64, len(base))
	for i, b := range base {
		for k, d := range deltas {
			theta, abs := b, math.Abs(b)
			if d != nil {
				theta, abs = b+d[i], math.Abs(b)+math.Abs(d[i])
			}
			w := weights[k]
			if normalize {
				w /= wsum
			}
			ref[i] += w * theta
			mag[i] += math.Abs(w) * abs
		}
	}
	return ref, mag
}
