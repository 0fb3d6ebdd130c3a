package kernel

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck/internal/simdtest"
)

// The robust kernels against a reference that sorts float64 copies with
// sort.Slice, and at every level against the generic loops, bit for bit
// (any NaN matching any NaN, as for the other arithmetic kernels), on
// guarded, unaligned slices.

// key64 is the sortable key of a float64: the float32 order, since
// widening is monotonic and keeps the sign of zero.
func key64(v float64) int64 {
	b := int64(math.Float64bits(v))
	return b ^ int64(uint64(b>>63)>>1)
}

// refSorted returns element j of every input, widened and sorted by key.
func refSorted(xs [][]float32, j int) []float64 {
	col := make([]float64, len(xs))
	for i, x := range xs {
		col[i] = float64(x[j])
	}
	sort.Slice(col, func(a, b int) bool { return key64(col[a]) < key64(col[b]) })
	return col
}

// medianRef is MedianCombine by its definition, for finite inputs.
func medianRef(out, base []float32, xs [][]float32, lambda float32) {
	n := len(xs)
	for j := range out {
		col := refSorted(xs, j)
		med := float32(col[n/2])
		if n%2 == 0 {
			a, b := float32(col[n/2-1]), float32(col[n/2])
			med = float32(a+b) * 0.5
		}
		out[j] = base[j] + float32(lambda*med)
	}
}

// trimmedRef is TrimmedCombine by its definition, for finite inputs.
func trimmedRef(out, base []float32, xs [][]float32, k int, lambda float32) {
	n := len(xs)
	for j := range out {
		col := refSorted(xs, j)
		s := float32(0)
		for _, v := range col[k : n-k] {
			s = s + float32(v)
		}
		out[j] = base[j] + float32(lambda*(s/float32(n-2*k)))
	}
}

// robustFinite are finite values that make ties and edge cases likely:
// both zeros, subnormals, the smallest normals, ±max and small integers.
var robustFinite = []uint32{
	0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007FFFFF, 0x807FFFFF, 0x00400000, 0x80400000,
	0x00800000, 0x80800000, 0x7F7FFFFF, 0xFF7FFFFF, 0x7F7FFFFE, 0xFF7FFFFE,
	0x3F800000, 0xBF800000, 0x40000000, 0xC0000000, 0x3F000000, 0xBF000000, 0x40400000, 0xC0400000,
}

// robustFloat draws a value: from the small set above (ties), a normal
// deviate, or (when any) any bits, Inf and NaN included.
func robustFloat(r *rand.Rand, any bool) float32 {
	switch r.IntN(8) {
	case 0, 1, 2, 3:
		return math.Float32frombits(robustFinite[r.IntN(len(robustFinite))])
	case 4:
		if any {
			return math.Float32frombits(simdtest.RandBits(r))
		}
		return math.Float32frombits(r.Uint32() & 0xFF7FFFFF) // finite
	case 5:
		return float32(r.IntN(5) - 2)
	}
	return float32(r.NormFloat64())
}

// robustInputs returns cnt inputs of n elements, each from its own
// unaligned start, and a base.
func robustInputs(r *rand.Rand, cnt, n int, any bool) (xs [][]float32, base []float32) {
	fill := func() []float32 {
		v := make([]float32, n)
		for j := range v {
			v[j] = robustFloat(r, any)
		}
		return v
	}
	xs = make([][]float32, cnt)
	for i := range xs {
		xs[i] = simdtest.Unaligned(fill(), (i+1)%4)
	}
	return xs, simdtest.Unaligned(fill(), 2)
}

// robustCounts are the input counts tried: every one the AVX2 registers
// take, some the AVX-512 registers take, the limits, and a few beyond
// (robustNet…).
var robustCounts = []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 24, 27, 28, 29, 33, 64, 100}

// trimKs are the k tried for cnt inputs: all of them up to 20 inputs.
func trimKs(r *rand.Rand, cnt int) []int {
	kmax := (cnt - 1) / 2
	if cnt <= 20 {
		ks := make([]int, kmax+1)
		for k := range ks {
			ks[k] = k
		}
		return ks
	}
	return []int{0, 1, 1 + r.IntN(kmax), kmax}
}

// robustLambdas are the λ tried.
var robustLambdas = []float32{1, 0.5, -1, 3, 1e-30, 0, float32(math.Copysign(0, -1)), 1e30}

// sameArith reports the first index where a and b differ, any NaN
// matching any NaN, or -1.
func sameArith(a, b []float32) int {
	for i := range a {
		x, y := math.Float32bits(a[i]), math.Float32bits(b[i])
		if x != y && !(simdtest.IsNaN32(x) && simdtest.IsNaN32(y)) {
			return i
		}
	}
	return -1
}

// checkRef fails unless the generic loop's output (into a fresh slice)
// equals ref's.
func checkRef(t *testing.T, name string, n int, kernel, ref func(out []float32)) {
	t.Helper()
	want, got := make([]float32, n), make([]float32, n)
	ref(want)
	atLevel(generic, func() { kernel(got) })
	if i := sameArith(got, want); i >= 0 {
		t.Fatalf("%s n=%d: element %d: generic %#08x, reference %#08x", name, n, i, math.Float32bits(got[i]), math.Float32bits(want[i]))
	}
}

func TestRobustReference(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for _, cnt := range robustCounts {
		for _, n := range []int{0, 1, 17, 300} {
			xs, base := robustInputs(r, cnt, n, false)
			lambda := robustLambdas[r.IntN(len(robustLambdas))]
			name := "MedianCombine"
			checkRef(t, name, n, func(out []float32) { MedianCombine(out, base, xs, lambda) },
				func(out []float32) { medianRef(out, base, xs, lambda) })
			for _, k := range trimKs(r, cnt) {
				checkRef(t, "TrimmedCombine", n, func(out []float32) { TrimmedCombine(out, base, xs, k, lambda) },
					func(out []float32) { trimmedRef(out, base, xs, k, lambda) })
			}
		}
	}
}

// TestRobustZeros checks the order of the zeros: −0 sorts below +0, so the
// median of {+0, −0, −0} is −0 and of {+0, +0, −0} is +0, whatever the
// inputs' order, at every level.
func TestRobustZeros(t *testing.T) {
	neg := float32(math.Copysign(0, -1))
	cases := []struct {
		col  []float32
		want uint32
	}{
		{[]float32{0, neg, neg}, 0x80000000},
		{[]float32{neg, 0, neg}, 0x80000000},
		{[]float32{0, 0, neg}, 0},
		{[]float32{neg, 0, 0}, 0},
		{[]float32{neg, neg}, 0x80000000}, // (−0 + −0)·½
		{[]float32{0, neg}, 0},            // (−0 + +0)·½
	}
	for _, l := range append(simdtest.Levels(), generic) {
		for _, c := range cases {
			const n = 37 // two vectors and a tail at either width
			xs := make([][]float32, len(c.col))
			for i, v := range c.col {
				xs[i] = make([]float32, n)
				for j := range n {
					xs[i][j] = v
				}
			}
			base := make([]float32, n)
			for j := range base {
				base[j] = neg // −0 + x is x, so out shows med's sign
			}
			out := make([]float32, n)
			atLevel(l, func() { MedianCombine(out, base, xs, 1) })
			for j, v := range out {
				if math.Float32bits(v) != c.want {
					t.Fatalf("%s median of %v: element %d is %#08x, want %#08x", l, c.col, j, math.Float32bits(v), c.want)
				}
			}
		}
	}
}

func TestRobustLevels(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	for _, l := range simdtest.Levels() {
		for _, cnt := range robustCounts {
			for _, n := range simdtest.Lengths() {
				if n > 300 && r.IntN(6) != 0 {
					continue // the long slices on a sample
				}
				if n > 5000 && cnt > 20 {
					continue
				}
				xs, base := robustInputs(r, cnt, n, true)
				lambda := robustLambdas[r.IntN(len(robustLambdas))]
				off := r.IntN(4)
				simdtest.DiffArith(t, atLevel, "MedianCombine", l, n, off, simdtest.Zero32, func(out []float32) { MedianCombine(out, base, xs, lambda) })
				for _, k := range trimKs(r, cnt) {
					if n > 300 && k > 1 && k < (cnt-1)/2 && r.IntN(4) != 0 {
						continue
					}
					simdtest.DiffArith(t, atLevel, "TrimmedCombine", l, n, off, simdtest.Zero32, func(out []float32) { TrimmedCombine(out, base, xs, k, lambda) })
				}
			}
		}
	}
}

// TestRobustTies runs columns of few distinct values (every input a
// permutation of the same multiset, signs of zero included) at every level.
func TestRobustTies(t *testing.T) {
	r := rand.New(rand.NewPCG(35, 36))
	neg := float32(math.Copysign(0, -1))
	pool := []float32{0, neg, 1, -1, 0x1p-149, -0x1p-149}
	for _, l := range simdtest.Levels() {
		for cnt := 1; cnt <= 20; cnt++ {
			const n = 1000
			xs := make([][]float32, cnt)
			for i := range xs {
				xs[i] = make([]float32, n)
			}
			for j := range n {
				m := 1 + r.IntN(len(pool))
				for i := range xs {
					xs[i][j] = pool[r.IntN(m)]
				}
			}
			base := make([]float32, n)
			simdtest.DiffArith(t, atLevel, "MedianCombine", l, n, 1, simdtest.Zero32, func(out []float32) { MedianCombine(out, base, xs, 1) })
			for _, k := range trimKs(r, cnt) {
				simdtest.DiffArith(t, atLevel, "TrimmedCombine", l, n, 3, simdtest.Zero32, func(out []float32) { TrimmedCombine(out, base, xs, k, 1) })
			}
		}
	}
}

func TestRobustPanics(t *testing.T) {
	x := make([]float32, 8)
	short := make([]float32, 7)
	for _, l := range append(simdtest.Levels(), generic) {
		atLevel(l, func() {
			simdtest.MustPanic(t, "MedianCombine no inputs", func() { MedianCombine(x, x, nil, 1) })
			simdtest.MustPanic(t, "MedianCombine short base", func() { MedianCombine(x, short, [][]float32{x}, 1) })
			simdtest.MustPanic(t, "MedianCombine short input", func() { MedianCombine(x, x, [][]float32{x, short}, 1) })
			simdtest.MustPanic(t, "TrimmedCombine no inputs", func() { TrimmedCombine(x, x, nil, 0, 1) })
			simdtest.MustPanic(t, "TrimmedCombine k < 0", func() { TrimmedCombine(x, x, [][]float32{x}, -1, 1) })
			simdtest.MustPanic(t, "TrimmedCombine 2k = N", func() { TrimmedCombine(x, x, [][]float32{x, x}, 1, 1) })
			simdtest.MustPanic(t, "TrimmedCombine 2k > N", func() { TrimmedCombine(x, x, [][]float32{x, x, x}, 2, 1) })
			simdtest.MustPanic(t, "TrimmedCombine short input", func() { TrimmedCombine(x, x, [][]float32{short}, 0, 1) })
		})
	}
}

// TestRobustAVX2UsesOnlyVEXRegisters is TestAVX2UsesOnlyVEXRegisters for
// robust_amd64.s.
func TestRobustAVX2UsesOnlyVEXRegisters(t *testing.T) {
	src, err := os.ReadFile("robust_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	evex := regexp.MustCompile(`\b([XY](1[6-9]|2[0-9]|3[01])|Z[0-9]+|K[0-7])\b`)
	fn, seen := "", 0
	for i, line := range strings.Split(string(src), "\n") {
		if strings.HasPrefix(line, "TEXT ") {
			fn = strings.Fields(line)[1]
			if strings.Contains(fn, "AVX2") {
				seen++
			}
		}
		if strings.Contains(fn, "AVX2") && !strings.HasPrefix(strings.TrimSpace(line), "//") {
			if m := evex.FindString(line); m != "" {
				t.Errorf("robust_amd64.s:%d: %s uses %s: %s", i+1, fn, m, strings.TrimSpace(line))
			}
		}
	}
	if seen != 3 {
		t.Errorf("robust_amd64.s has %d AVX2 functions, want 3", seen)
	}
}

// TestRobustAsmComplete checks that every robust function of
// robust_amd64.s ends in RET (avo leaves a truncated file when it fails).
func TestRobustAsmComplete(t *testing.T) {
	src, err := os.ReadFile("robust_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range []string{"medianAVX512", "trimmedAVX512", "robustNetAVX512", "medianAVX2", "trimmedAVX2", "robustNetAVX2"} {
		i := strings.Index(string(src), "TEXT ·"+fn+"(SB)")
		if i < 0 {
			t.Fatalf("robust_amd64.s lacks %s", fn)
		}
		body := string(src[i:])
		if j := strings.Index(body[1:], "TEXT "); j >= 0 {
			body = body[:j+1]
		}
		if !strings.Contains(body, fn+"_done:\n\tVZEROUPPER\n\tRET\n") {
			t.Errorf("%s does not end in VZEROUPPER, RET", fn)
		}
	}
}

// robustFuzzInputs reads the fuzzer's bytes as cnt inputs and a base:
// with raw set, 4 bytes a float32; otherwise a byte a value, picked from
// robustFinite and a few more (ties and zeros of both signs).
func robustFuzzInputs(data []byte, cnt int, raw bool, align uint8) (xs [][]float32, base []float32, finite bool) {
	var vals []float32
	if raw {
		for i := 0; i+4 <= len(data); i += 4 {
			vals = append(vals, math.Float32frombits(binary.LittleEndian.Uint32(data[i:])))
		}
	} else {
		for _, b := range data {
			if int(b) < len(robustFinite) {
				vals = append(vals, math.Float32frombits(robustFinite[b]))
			} else {
				vals = append(vals, float32(int(b%7)-3)*0.25)
			}
		}
	}
	n := len(vals) / (cnt + 1)
	finite = true
	for _, v := range vals[:n*(cnt+1)] {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			finite = false
		}
	}
	xs = make([][]float32, cnt)
	for i := range xs {
		xs[i] = simdtest.Unaligned(vals[i*n:(i+1)*n], int(align+uint8(i))%4)
	}
	return xs, simdtest.Unaligned(vals[cnt*n:(cnt+1)*n], int(align)%4), finite
}

func robustFuzzSeeds(f *testing.F) {
	seed := make([]byte, 0, 4*len(robustFinite))
	for _, b := range robustFinite {
		seed = binary.LittleEndian.AppendUint32(seed, b)
	}
	ties := make([]byte, 600)
	for i := range ties {
		ties[i] = byte(i * 7 % 24)
	}
	f.Add(seed, uint8(2), uint8(0), false, uint8(0), uint32(0x3F800000))
	f.Add(seed, uint8(4), uint8(1), true, uint8(1), uint32(0xBF000000))
	f.Add(ties, uint8(4), uint8(1), false, uint8(3), uint32(0x3F800000))
	f.Add(ties, uint8(7), uint8(3), false, uint8(2), uint32(0x40400000))
	f.Add(ties, uint8(16), uint8(5), false, uint8(1), uint32(0x3F800000))
	f.Add(ties, uint8(15), uint8(7), false, uint8(0), uint32(0x00000000))
}

// FuzzMedianCombine runs MedianCombine at every level this machine has
// against the generic loop, and the generic loop against the reference
// when the inputs are finite:
//
//	go test -run XXX -fuzz FuzzMedianCombine ./merge/kernel
func FuzzMedianCombine(f *testing.F) {
	robustFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte, cnt, _ uint8, raw bool, align uint8, lbits uint32) {
		c := 1 + int(cnt)%36
		xs, base, finite := robustFuzzInputs(data, c, raw, align)
		n := len(base)
		lambda := math.Float32frombits(lbits)
		kernel := func(out []float32) { MedianCombine(out, base, xs, lambda) }
		if finite && !math.IsNaN(float64(lambda)) {
			checkRef(t, "MedianCombine", n, kernel, func(out []float32) { medianRef(out, base, xs, lambda) })
		}
		for _, l := range simdtest.Levels() {
			simdtest.DiffArith(t, atLevel, "MedianCombine", l, n, int(align/4)%4, simdtest.Zero32, kernel)
		}
	})
}

// FuzzTrimmedCombine is FuzzMedianCombine for TrimmedCombine, k from the
// fuzzer's byte (mod the valid range):
//
//	go test -run XXX -fuzz FuzzTrimmedCombine ./merge/kernel
func FuzzTrimmedCombine(f *testing.F) {
	robustFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte, cnt, kb uint8, raw bool, align uint8, lbits uint32) {
		c := 1 + int(cnt)%36
		k := int(kb) % ((c-1)/2 + 1)
		xs, base, finite := robustFuzzInputs(data, c, raw, align)
		n := len(base)
		lambda := math.Float32frombits(lbits)
		kernel := func(out []float32) { TrimmedCombine(out, base, xs, k, lambda) }
		if finite && !math.IsNaN(float64(lambda)) {
			checkRef(t, "TrimmedCombine", n, kernel, func(out []float32) { trimmedRef(out, base, xs, k, lambda) })
		}
		for _, l := range simdtest.Levels() {
			simdtest.DiffArith(t, atLevel, "TrimmedCombine", l, n, int(align/4)%4, simdtest.Zero32, kernel)
		}
	})
}
