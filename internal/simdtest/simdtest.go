// Package simdtest is what the tests of the SIMD packages (half and
// merge/kernel) share: the float32 patterns every kernel must get right,
// the lengths every kernel is tried at, guarded buffers that show any
// write outside a slice, and the differential check of a level against
// the generic loops. Each package passes its own AtLevel, since each keeps
// its own choice of level.
package simdtest

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/potluck-hub/potluck/internal/isa"
)

// AtLevel runs fn with one package's kernels at level l.
type AtLevel func(l isa.Level, fn func())

// Levels are the implementations this machine can run, widest first,
// generic left out.
func Levels() []isa.Level {
	var ls []isa.Level
	for l := isa.Best; l > isa.Generic; l-- {
		ls = append(ls, l)
	}
	return ls
}

// Guard is the number of elements before and after each slice under test,
// and GuardBits the bits they hold: any write there shows as a difference.
const (
	Guard     = 19
	GuardBits = 0x7FC0DEAD
)

// Padded32 returns a float32 slice of n elements starting off elements
// into a guarded buffer, and the whole buffer.
func Padded32(n, off int, fill func(i int) float32) (s, all []float32) {
	all = make([]float32, Guard+off+n+Guard)
	for i := range all {
		all[i] = math.Float32frombits(GuardBits)
	}
	s = all[Guard+off : Guard+off+n]
	for i := range s {
		s[i] = fill(i)
	}
	return s, all
}

// Padded8 is Padded32 for bytes (off in bytes, so starts may be odd).
func Padded8(n, off int, fill func(i int) byte) (s, all []byte) {
	all = make([]byte, Guard+off+n+Guard)
	for i := range all {
		all[i] = 0xA5
	}
	s = all[Guard+off : Guard+off+n]
	for i := range s {
		s[i] = fill(i)
	}
	return s, all
}

// SameBits32 reports the first index where a and b differ in their bits,
// or -1.
func SameBits32(a, b []float32) int {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}

// SameBytes reports the first index where a and b differ, or -1.
func SameBytes(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// Specials are float32 bit patterns every kernel must get right.
var Specials = []uint32{
	0x00000000, 0x80000000, // ±0
	0x00000001, 0x80000001, 0x007FFFFF, 0x807FFFFF, 0x00400000, // subnormals
	0x00800000, 0x80800000, // smallest normals
	0x7F7FFFFF, 0xFF7FFFFF, // ±max
	0x7F800000, 0xFF800000, // ±Inf
	0x7FC00000, 0xFFC00000, 0x7F800001, 0xFF800001, 0x7FBFFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 0x7F80FFFF, 0x7F810000, 0x7FC0FFFF, // NaNs
	0x3F800000, 0xBF800000, 0x3F808000, 0x3F818000, 0x3F807FFF, 0x3F808001, 0x7F7F8000, 0x7F7F7FFF, // bf16 ties and edges
	0x477FE000, 0x477FEFFF, 0x477FF000, 0x477FF001, 0x47800000, // f16 max, tie to Inf
	0x33800000, 0x33000000, 0x33000001, 0x32FFFFFF, 0x387FC000, 0x387FE000, 0x38800000, 0x33C00000, 0x34200000, // f16 subnormal edges
	0x3F801000, 0x3F803000, 0x3F800FFF, 0x3F801001, // f16 ties
}

// SpecialBytes is Specials as little-endian bytes: a fuzz seed.
func SpecialBytes() []byte {
	b := make([]byte, 0, 4*len(Specials))
	for _, s := range Specials {
		b = binary.LittleEndian.AppendUint32(b, s)
	}
	return b
}

// FloatsOf reads data as little-endian float32s (a trailing partial one
// left out).
func FloatsOf(data []byte) []float32 {
	v := make([]float32, len(data)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
	}
	return v
}

// RandBits is a float32 bit pattern: a special, raw random bits, or a
// value of ordinary magnitude.
func RandBits(r *rand.Rand) uint32 {
	switch r.IntN(4) {
	case 0:
		return Specials[r.IntN(len(Specials))]
	case 1:
		return r.Uint32()
	case 2: // an exponent near the 16-bit formats' ranges, random mantissa
		return r.Uint32()&0x807FFFFF | uint32(100+r.IntN(50))<<23
	}
	return math.Float32bits(float32(r.NormFloat64()))
}

// RandFloats returns n float32s from RandBits.
func RandFloats(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = math.Float32frombits(RandBits(r))
	}
	return v
}

// Halves returns n 16-bit patterns as little-endian bytes: random, with
// every pattern class represented.
func Halves(r *rand.Rand, n int) []byte {
	b := make([]byte, 2*n)
	for i := range n {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(r.Uint32()))
	}
	return b
}

// Lengths are the slice lengths every differential test covers: 0–67 and
// some large ones that are not a multiple of any vector.
func Lengths() []int {
	var ns []int
	for n := range 68 {
		ns = append(ns, n)
	}
	return append(ns, 127, 128, 129, 255, 1000, 4099, 65536+13)
}

// MustPanic fails t unless fn panics.
func MustPanic(t *testing.T, name string, fn func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s did not panic", name)
		}
	}()
	fn()
}

// Diff32 runs kernel on a guarded float32 slice of n elements, off
// elements into its buffer and filled by init, once with the generic loops
// and once at level l, and fails unless the two buffers are the same bits.
func Diff32(t *testing.T, at AtLevel, name string, l isa.Level, n, off int, init func(i int) float32, kernel func(dst []float32)) {
	t.Helper()
	diff(t, at, name, l, n, off, init, kernel, func(a, b uint32) bool { return a == b })
}

// DiffArith is Diff32 for the arithmetic kernels: the same bits everywhere,
// except that any NaN matches any NaN (see merge/kernel's package doc:
// payloads of arithmetic results are not defined, and differ between Go
// builds).
func DiffArith(t *testing.T, at AtLevel, name string, l isa.Level, n, off int, init func(i int) float32, kernel func(dst []float32)) {
	t.Helper()
	diff(t, at, name, l, n, off, init, kernel, func(a, b uint32) bool { return a == b || IsNaN32(a) && IsNaN32(b) })
}

func diff(t *testing.T, at AtLevel, name string, l isa.Level, n, off int, init func(i int) float32, kernel func(dst []float32), same func(a, b uint32) bool) {
	t.Helper()
	want, wantAll := Padded32(n, off, init)
	got, gotAll := Padded32(n, off, init)
	at(isa.Generic, func() { kernel(want) })
	at(l, func() { kernel(got) })
	for i := range wantAll {
		a, b := math.Float32bits(gotAll[i]), math.Float32bits(wantAll[i])
		if !same(a, b) {
			t.Fatalf("%s %s n=%d off=%d: buffer element %d (slice element %d): got %#08x, generic %#08x",
				name, l, n, off, i, i-Guard-off, a, b)
		}
	}
}

// IsNaN32 reports whether float32 bits b are a NaN.
func IsNaN32(b uint32) bool { return b&0x7F800000 == 0x7F800000 && b&0x007FFFFF != 0 }

// Diff8 is Diff32 for a byte output.
func Diff8(t *testing.T, at AtLevel, name string, l isa.Level, n, off int, kernel func(dst []byte)) {
	t.Helper()
	zero := func(int) byte { return 0 }
	want, wantAll := Padded8(n, off, zero)
	got, gotAll := Padded8(n, off, zero)
	at(isa.Generic, func() { kernel(want) })
	at(l, func() { kernel(got) })
	if i := SameBytes(wantAll, gotAll); i >= 0 {
		t.Fatalf("%s %s n=%d off=%d: buffer byte %d (slice byte %d): got %#02x, generic %#02x",
			name, l, n, off, i, i-Guard-off, gotAll[i], wantAll[i])
	}
}

// At returns a fill function giving element i of vals.
func At(vals []float32) func(i int) float32 { return func(i int) float32 { return vals[i] } }

// Zero32 is the fill function of an all-zero slice.
func Zero32(int) float32 { return 0 }

// Unaligned copies vals to a slice starting off elements into a guarded
// buffer.
func Unaligned(vals []float32, off int) []float32 {
	s, _ := Padded32(len(vals), off, At(vals))
	return s
}

// Unaligned8 copies b to a slice starting off bytes into a guarded buffer.
func Unaligned8(b []byte, off int) []byte {
	s, _ := Padded8(len(b), off, func(i int) byte { return b[i] })
	return s
}

// BenchLevels runs fn as a sub-benchmark at every level this machine has,
// generic last, named by the level.
func BenchLevels(b *testing.B, at AtLevel, fn func(b *testing.B)) {
	for _, l := range append(Levels(), isa.Generic) {
		b.Run(l.String(), func(b *testing.B) { at(l, func() { fn(b) }) })
	}
}

// ReportLevels logs which levels this run's differential tests compare
// with the generic loops, and skips, saying so, when the AVX-512 kernels
// cannot run here: they are then compiled (and their registers checked)
// but not executed, and a CPU with AVX-512 must run the tests again.
func ReportLevels(t *testing.T) {
	t.Helper()
	for _, l := range Levels() {
		t.Logf("the %s kernels are run against the generic loops", l)
	}
	if isa.Best < isa.AVX512 {
		t.Skipf("the AVX-512 kernels are not run: this CPU (or -tags purego) gives level %s, not AVX-512 F, BW, VL and DQ", isa.Best)
	}
}
