package kernel

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/potluck-hub/potluck/internal/isa"
)

// levels are the implementations this machine can run, generic last.
func levels() []level {
	var ls []level
	for l := isa.Best; l > generic; l-- {
		ls = append(ls, l)
	}
	return ls
}

// atLevel runs fn with the kernels at level l.
func atLevel(l level, fn func()) {
	prev := impl
	impl = l
	defer func() { impl = prev }()
	fn()
}

// guard is the number of elements before and after each slice under test,
// and the bits they hold: any write there shows as a difference.
const (
	guard     = 19
	guardBits = 0x7FC0DEAD
)

// padded32 returns a float32 slice of n elements starting off elements
// into a guarded buffer, and the whole buffer.
func padded32(n, off int, fill func(i int) float32) (s, all []float32) {
	all = make([]float32, guard+off+n+guard)
	for i := range all {
		all[i] = math.Float32frombits(guardBits)
	}
	s = all[guard+off : guard+off+n]
	for i := range s {
		s[i] = fill(i)
	}
	return s, all
}

// padded8 is padded32 for bytes (off in bytes, so starts may be odd).
func padded8(n, off int, fill func(i int) byte) (s, all []byte) {
	all = make([]byte, guard+off+n+guard)
	for i := range all {
		all[i] = 0xA5
	}
	s = all[guard+off : guard+off+n]
	for i := range s {
		s[i] = fill(i)
	}
	return s, all
}

// sameBits reports the first index where a and b differ in their bits, or -1.
func sameBits32(a, b []float32) int {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}

func sameBytes(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// specials are float32 bit patterns every kernel must get right.
var specials = []uint32{
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

// randBits is a float32 bit pattern: a special, raw random bits, or a value
// of ordinary magnitude.
func randBits(r *rand.Rand) uint32 {
	switch r.IntN(4) {
	case 0:
		return specials[r.IntN(len(specials))]
	case 1:
		return r.Uint32()
	case 2: // an exponent near the 16-bit formats' ranges, random mantissa
		return r.Uint32()&0x807FFFFF | uint32(100+r.IntN(50))<<23
	}
	return math.Float32bits(float32(r.NormFloat64()))
}

// randFloats returns n float32s from randBits.
func randFloats(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = math.Float32frombits(randBits(r))
	}
	return v
}

// halves returns n 16-bit patterns as little-endian bytes: random, with
// every pattern class represented.
func halves(r *rand.Rand, n int) []byte {
	b := make([]byte, 2*n)
	for i := range n {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(r.Uint32()))
	}
	return b
}

// lengths are the slice lengths every differential test covers: 0–67 and
// some large ones that are not a multiple of any vector.
func lengths() []int {
	var ns []int
	for n := range 68 {
		ns = append(ns, n)
	}
	return append(ns, 127, 128, 129, 255, 1000, 4099, 65536+13)
}

func mustPanic(t *testing.T, name string, fn func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s did not panic", name)
		}
	}()
	fn()
}

// diff32 runs kernel on a guarded float32 slice of n elements, off elements
// into its buffer and filled by init, once with the generic loops and once
// at level l, and fails unless the two buffers are the same bits.
func diff32(t *testing.T, name string, l level, n, off int, init func(i int) float32, kernel func(dst []float32)) {
	t.Helper()
	want, wantAll := padded32(n, off, init)
	got, gotAll := padded32(n, off, init)
	atLevel(generic, func() { kernel(want) })
	atLevel(l, func() { kernel(got) })
	if i := sameBits32(wantAll, gotAll); i >= 0 {
		t.Fatalf("%s %s n=%d off=%d: buffer element %d (slice element %d): got %#08x, generic %#08x",
			name, l, n, off, i, i-guard-off, math.Float32bits(gotAll[i]), math.Float32bits(wantAll[i]))
	}
}

// diffArith is diff32 for the arithmetic kernels: the same bits everywhere,
// except that any NaN matches any NaN (see the package doc: payloads of
// arithmetic results are not defined, and differ between Go builds).
func diffArith(t *testing.T, name string, l level, n, off int, init func(i int) float32, kernel func(dst []float32)) {
	t.Helper()
	want, wantAll := padded32(n, off, init)
	got, gotAll := padded32(n, off, init)
	atLevel(generic, func() { kernel(want) })
	atLevel(l, func() { kernel(got) })
	for i := range wantAll {
		a, b := math.Float32bits(gotAll[i]), math.Float32bits(wantAll[i])
		if a != b && !(isNaN32(a) && isNaN32(b)) {
			t.Fatalf("%s %s n=%d off=%d: buffer element %d (slice element %d): got %#08x, generic %#08x",
				name, l, n, off, i, i-guard-off, a, b)
		}
	}
}

func isNaN32(b uint32) bool { return b&0x7F800000 == 0x7F800000 && b&0x007FFFFF != 0 }

// diff8 is diff32 for a byte output.
func diff8(t *testing.T, name string, l level, n, off int, kernel func(dst []byte)) {
	t.Helper()
	zero := func(int) byte { return 0 }
	want, wantAll := padded8(n, off, zero)
	got, gotAll := padded8(n, off, zero)
	atLevel(generic, func() { kernel(want) })
	atLevel(l, func() { kernel(got) })
	if i := sameBytes(wantAll, gotAll); i >= 0 {
		t.Fatalf("%s %s n=%d off=%d: buffer byte %d (slice byte %d): got %#02x, generic %#02x",
			name, l, n, off, i, i-guard-off, gotAll[i], wantAll[i])
	}
}

// at returns fill's element i of vals.
func at(vals []float32) func(i int) float32 { return func(i int) float32 { return vals[i] } }

// unaligned copies vals to a slice starting off elements into a guarded buffer.
func unaligned(vals []float32, off int) []float32 {
	s, _ := padded32(len(vals), off, at(vals))
	return s
}

// unaligned8 copies b to a slice starting off bytes into a guarded buffer.
func unaligned8(b []byte, off int) []byte {
	s, _ := padded8(len(b), off, func(i int) byte { return b[i] })
	return s
}
