package kernel

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck/half"
	"github.com/potluck-hub/potluck/internal/simdtest"
)

var fusedFormats = []Format{BF16, F16, F32}

// fmtName names a format in test messages.
func fmtName(f Format) string {
	switch f {
	case BF16:
		return "bf16"
	case F16:
		return "f16"
	case F32:
		return "f32"
	}
	return fmt.Sprintf("Format(%d)", uint8(f))
}

// elemBits reads element i of b in format f.
func elemBits(f Format, b []byte, i int) uint32 {
	if f == F32 {
		return binary.LittleEndian.Uint32(b[4*i:])
	}
	return uint32(binary.LittleEndian.Uint16(b[2*i:]))
}

func putElemBits(f Format, b []byte, i int, v uint32) {
	if f == F32 {
		binary.LittleEndian.PutUint32(b[4*i:], v)
	} else {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}
}

// isNaNIn reports whether bits h are a NaN in format f.
func isNaNIn(f Format, h uint32) bool {
	switch f {
	case BF16:
		return h&0x7FFF > 0x7F80
	case F16:
		return h&0x7FFF > 0x7C00
	}
	return h&0x7FFFFFFF > 0x7F800000
}

// encode narrows v to format f with half's scalar conversions (for
// making inputs; the independent reference test encodes on its own).
func encode(f Format, v float32) uint32 {
	switch f {
	case BF16:
		return uint32(half.F32ToBF16Bits(math.Float32bits(v)))
	case F16:
		return uint32(half.F32ToF16Bits(math.Float32bits(v)))
	}
	return math.Float32bits(v)
}

// fusedSpecials are, per format, the bit patterns every fused kernel must
// get right: ±0, subnormals, the smallest normals, ±max, ±Inf, quiet and
// signalling NaNs, and a few ordinary values.
var fusedSpecials = map[Format][]uint32{
	BF16: {0x0000, 0x8000, 0x0001, 0x8001, 0x007F, 0x0040, 0x0080, 0x8080, 0x7F7F, 0xFF7F, 0x7F7E,
		0x7F80, 0xFF80, 0x7FC0, 0xFFC0, 0x7F81, 0xFF81, 0x7FFF, 0x3F80, 0xBF80, 0x4000, 0x7F00},
	F16: {0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x0200, 0x0400, 0x8400, 0x7BFF, 0xFBFF, 0x7BFE,
		0x7C00, 0xFC00, 0x7E00, 0xFE00, 0x7C01, 0xFC01, 0x7DFF, 0x7FFF, 0x3C00, 0xBC00, 0x7800},
	F32: simdtest.Specials,
}

// fusedMode is how a case's inputs are drawn.
type fusedMode int

const (
	modeFinite   fusedMode = iota // ordinary values of one magnitude, all finite
	modeSparse                    // ordinary values and the odd special
	modeSpecials                  // simdtest.Specials and raw bit patterns
	modeLarge                     // near the format's largest: sums overflow
	numModes
)

// magnitudes are the scales of the ordinary values: f16 subnormal results
// come from 1e-6, bf16 and f32 subnormals from 1e-39.
var magnitudes = []float64{1, 1e-3, 100, 1e-6, 1e-39, 1e4}

// fusedElems returns n random elements of f, little-endian.
func fusedElems(r *rand.Rand, f Format, n int, m fusedMode) []byte {
	b := make([]byte, n*f.Size())
	scale := magnitudes[r.IntN(len(magnitudes))]
	sp := fusedSpecials[f]
	for i := range n {
		var v uint32
		switch {
		case m == modeSparse && r.IntN(16) == 0, m == modeSpecials && r.IntN(2) == 0:
			v = sp[r.IntN(len(sp))]
		case m == modeSpecials:
			v = r.Uint32()
			if f != F32 {
				v &= 0xFFFF
			}
		case m == modeLarge:
			big := map[Format]float64{BF16: 3e38, F16: 6e4, F32: 3e38}[f]
			v = encode(f, float32(big*(0.5+r.Float64()/2)*float64(1-2*r.IntN(2))))
		default:
			v = encode(f, float32(r.NormFloat64()*scale))
		}
		putElemBits(f, b, i, v)
	}
	return b
}

// unitElems returns n elements of f of order 1.
func unitElems(r *rand.Rand, f Format, n int) []byte {
	b := make([]byte, n*f.Size())
	for i := range n {
		putElemBits(f, b, i, encode(f, float32(r.NormFloat64())))
	}
	return b
}

// fusedWeight draws a weight: mostly ordinary, sometimes ±0, extreme,
// subnormal or not finite.
func fusedWeight(r *rand.Rand) float32 {
	ws := []float32{1, -1, 0.5, 0.25, 3, 1 + 0x1p-12, 0, float32(math.Copysign(0, -1)), 1e-30, 0x1p-140, 1e30,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
	if r.IntN(4) == 0 {
		return ws[r.IntN(len(ws))]
	}
	return float32(r.NormFloat64())
}

var (
	fusedDivs    = []float32{3, 0.5, -2, 7, 1e-30, 0, 1e30, float32(math.Inf(1)), float32(math.NaN()), 0.1}
	fusedLambdas = []float32{1, 0.5, -1, 0, 1.5, 1e30, 0.3, float32(math.Copysign(0, -1))}
)

// fusedCase is one call's inputs.
type fusedCase struct {
	f           Format
	n           int // elements
	base        []byte
	srcs        [][]byte
	w           []float32
	div, lambda float32
	dstOff      int // bytes into the guarded dst buffer
	linear      bool
	mode        fusedMode
}

func (c *fusedCase) String() string {
	op := "SumScaled"
	if c.linear {
		op = "SumLinear"
	}
	return fmt.Sprintf("%s %s n=%d N=%d mode=%d div=%g λ=%g dstOff=%d", op, fmtName(c.f), c.n, len(c.srcs), c.mode, c.div, c.lambda, c.dstOff)
}

// newFusedCase draws a case of n elements and nsrc inputs, every slice
// starting 0–3 elements (or an odd number of bytes) into a guarded buffer.
func newFusedCase(r *rand.Rand, f Format, n, nsrc int, linear bool) *fusedCase {
	m := fusedMode(r.IntN(int(numModes)))
	off := func() int {
		if r.IntN(4) == 0 {
			return 1 + 2*r.IntN(2) // odd bytes
		}
		return r.IntN(4) * f.Size()
	}
	c := &fusedCase{f: f, n: n, linear: linear, mode: m, dstOff: off(), div: 1, lambda: 1}
	c.base = simdtest.Unaligned8(fusedElems(r, f, n, m), off())
	for range nsrc {
		c.srcs = append(c.srcs, simdtest.Unaligned8(fusedElems(r, f, n, m), off()))
		c.w = append(c.w, fusedWeight(r))
	}
	if r.IntN(2) == 0 {
		c.div = fusedDivs[r.IntN(len(fusedDivs))]
	}
	if r.IntN(2) == 0 {
		c.lambda = fusedLambdas[r.IntN(len(fusedLambdas))]
	}
	return c
}

// run calls the kernel at level l on a fresh guarded dst and returns the
// whole buffer and the result.
func (c *fusedCase) run(l level) (all []byte, ok bool) {
	dst, all := simdtest.Padded8(c.n*c.f.Size(), c.dstOff, func(int) byte { return 0xA5 })
	atLevel(l, func() {
		if c.linear {
			ok = SumLinear(c.f, dst, c.base, c.srcs, c.w)
		} else {
			ok = SumScaled(c.f, dst, c.base, c.srcs, c.w, c.div, c.lambda)
		}
	})
	return all, ok
}

// diffFused fails unless got and want (guarded buffers, the output dstOff
// bytes after the guard) hold the same bits, except that within the output
// any NaN of the format matches any NaN (the package doc's rule for the
// arithmetic kernels). exact is the number of leading output elements
// compared bit for bit even when NaN.
func diffFused(t *testing.T, what string, f Format, n, dstOff, exact int, got, want []byte) {
	t.Helper()
	lo, hi := simdtest.Guard+dstOff, simdtest.Guard+dstOff+n*f.Size()
	for i := range got {
		if i >= lo && i < hi {
			continue
		}
		if got[i] != want[i] {
			t.Fatalf("%s: wrote guard byte %d (output %d..%d): %#02x, want %#02x", what, i, lo, hi, got[i], want[i])
		}
	}
	g, w := got[lo:hi], want[lo:hi]
	for j := range n {
		a, b := elemBits(f, g, j), elemBits(f, w, j)
		if a != b && (j < exact || !isNaNIn(f, a) || !isNaNIn(f, b)) {
			t.Fatalf("%s: element %d: got %#x, want %#x", what, j, a, b)
		}
	}
}

// checkCase runs c at level l and at generic and compares.
func checkCase(t *testing.T, l level, c *fusedCase) (ok bool) {
	t.Helper()
	want, wantOK := c.run(generic)
	got, gotOK := c.run(l)
	what := fmt.Sprintf("%s at %s", c, l)
	diffFused(t, what, c.f, c.n, c.dstOff, 0, got, want)
	if gotOK != wantOK {
		t.Fatalf("%s: ok = %v, generic %v", what, gotOK, wantOK)
	}
	return wantOK
}

func TestFusedLevels(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, l := range simdtest.Levels() {
		for _, f := range fusedFormats {
			oks := map[bool]int{}
			// Past lengths(): one or two wide steps of AVX-512 (256
			// elements of sumScaled) and every count of single vectors.
			for _, n := range append(simdtest.Lengths(), 256, 271, 300, 511, 529, 767) {
				nsrcs := []int{1, 2, 3, 4, 5, 6, 7, 8, 9}
				if n > 67 {
					nsrcs = []int{1 + n%9, 4}
				}
				if n%16 == 5 {
					nsrcs = append(nsrcs, 0, 33, 64)
				}
				for _, nsrc := range nsrcs {
					for _, linear := range []bool{false, true} {
						oks[checkCase(t, l, newFusedCase(r, f, n, nsrc, linear))]++
					}
				}
			}
			t.Logf("%s %s: %d cases ok, %d not", l, fmtName(f), oks[true], oks[false])
			// Both outcomes must have been tried.
			if oks[true] < 100 || oks[false] < 100 {
				t.Errorf("%s %s: %d cases ok, %d not: too few of one", l, fmtName(f), oks[true], oks[false])
			}
		}
	}
}

// TestFusedFlag pins the result: one non-finite input, or one finite input
// set whose output overflows, anywhere in a long slice (asm part or tail),
// turns it false; weights of 0 do not hide an Inf or NaN input.
func TestFusedFlag(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	const n = 100
	for _, l := range append(simdtest.Levels(), generic) {
		for _, f := range fusedFormats {
			for _, linear := range []bool{false, true} {
				for _, pos := range []int{0, 15, 16, 31, 32, 63, 64, 95, 96, 99} {
					for _, bad := range []string{"none", "inf", "-inf", "nan", "overflow", "inf-base"} {
						c := &fusedCase{f: f, n: n, linear: linear, div: 1, lambda: 1, dstOff: 0}
						c.base = unitElems(r, f, n)
						for k := range 3 {
							c.srcs = append(c.srcs, unitElems(r, f, n))
							c.w = append(c.w, float32(k))
						}
						want := true
						sp := map[string]float32{"inf": float32(math.Inf(1)), "-inf": float32(math.Inf(-1)), "nan": float32(math.NaN())}
						switch bad {
						case "inf", "-inf", "nan": // in input 0, whose weight is 0
							putElemBits(f, c.srcs[0], pos, encode(f, sp[bad]))
							want = false
						case "overflow":
							big := map[Format]float32{BF16: 3e38, F16: 60000, F32: 3e38}[f]
							putElemBits(f, c.srcs[2], pos, encode(f, big))
							putElemBits(f, c.srcs[1], pos, encode(f, big))
							putElemBits(f, c.base, pos, encode(f, big))
							want = false
						case "inf-base": // the base is not checked as an input, but the output is Inf
							putElemBits(f, c.base, pos, encode(f, float32(math.Inf(1))))
							want = false
						}
						_, got := c.run(l)
						if got != want {
							t.Fatalf("%s at %s, %s at %d: ok = %v, want %v", c, l, bad, pos, got, want)
						}
						checkCase(t, l, c)
					}
				}
			}
		}
	}
}

// The independent reference: inputs small integers times powers of two,
// weights, div and λ such that every float32 operation is exact, so the
// float64 value is the float32 one; the output is rounded to the format
// by math/big (all results are normal in every format) and encoded here.
func TestFusedExactReference(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	// dyadic is k·2^e, |k| ≤ 64, e in [-3, 2]: 7 significant bits at most.
	dyadic := func() float64 { return math.Ldexp(float64(r.IntN(129)-64), r.IntN(6)-3) }
	prec := map[Format]uint{BF16: 8, F16: 11, F32: 24}
	enc := func(f Format, v float64) uint32 { // v representable in f, normal or 0
		b := math.Float32bits(float32(v))
		switch f {
		case BF16:
			return b >> 16
		case F16:
			h := b >> 16 & 0x8000
			if b&0x7FFFFFFF != 0 {
				h |= (b>>23&0xFF-127+15)<<10 | b>>13&0x3FF
			}
			return h
		}
		return b
	}
	round := func(f Format, v float64) float64 {
		x, _ := new(big.Float).SetPrec(prec[f]).SetMode(big.ToNearestEven).SetFloat64(v).Float64()
		return x
	}
	for _, l := range append(simdtest.Levels(), generic) {
		for _, f := range fusedFormats {
			for _, n := range []int{1, 7, 16, 17, 32, 45, 100, 257} {
				for nsrc := 1; nsrc <= 9; nsrc++ {
					xs := make([][]float64, nsrc)
					srcs := make([][]byte, nsrc)
					w := make([]float32, nsrc)
					for k := range xs {
						w[k] = float32(math.Ldexp(float64(r.IntN(17)-8), -2)) // |w| ≤ 2, multiples of ¼
						srcs[k] = make([]byte, n*f.Size())
						xs[k] = make([]float64, n)
						for j := range n {
							xs[k][j] = dyadic()
							putElemBits(f, srcs[k], j, enc(f, xs[k][j]))
						}
					}
					bs := make([]float64, n)
					base := make([]byte, n*f.Size())
					for j := range n {
						bs[j] = dyadic()
						putElemBits(f, base, j, enc(f, bs[j]))
					}
					div := []float32{1, 2, 0.5, 4, -1}[r.IntN(5)]
					lambda := []float32{1, 0.5, -2, 0.25, 2}[r.IntN(5)]
					for _, linear := range []bool{false, true} {
						dst := make([]byte, n*f.Size())
						var ok bool
						atLevel(l, func() {
							if linear {
								ok = SumLinear(f, dst, base, srcs, w)
							} else {
								ok = SumScaled(f, dst, base, srcs, w, div, lambda)
							}
						})
						if !ok {
							t.Fatalf("%s %s n=%d N=%d linear=%v: ok = false", l, fmtName(f), n, nsrc, linear)
						}
						for j := range n {
							acc := 0.0
							for k := range xs {
								if linear {
									acc += float64(w[k]) * (xs[k][j] + bs[j])
								} else {
									acc += float64(w[k]) * xs[k][j]
								}
							}
							if !linear {
								acc = bs[j] + float64(lambda)*(acc/float64(div))
							}
							want := enc(f, round(f, acc))
							if got := elemBits(f, dst, j); got != want {
								t.Fatalf("%s %s n=%d N=%d linear=%v element %d: got %#x, want %#x (%g)", l, fmtName(f), n, nsrc, linear, j, got, want, acc)
							}
						}
					}
				}
			}
		}
	}
}

// SumScaled is the slice kernels' pipeline, bit for bit: at an assembly
// level, NaN payloads included over the elements the assembly takes.
func TestFusedIsComposition(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	widen := map[Format]func([]float32, []byte){BF16: half.WidenBF16, F16: half.WidenF16, F32: half.ReadF32}
	narrow := map[Format]func([]byte, []float32){BF16: half.NarrowBF16, F16: half.NarrowF16, F32: half.WriteF32}
	for _, l := range append(simdtest.Levels(), generic) {
		for _, f := range fusedFormats {
			for _, n := range simdtest.Lengths() {
				for _, nsrc := range []int{1 + n%9, 4} {
					c := newFusedCase(r, f, n, nsrc, false)
					got, gotOK := c.run(l)
					_, want := simdtest.Padded8(n*f.Size(), c.dstOff, func(int) byte { return 0xA5 })
					wantOK := true
					atLevel(l, func() {
						x, b, acc, out := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
						widen[f](b, c.base)
						for k, s := range c.srcs {
							widen[f](x, s)
							if FirstNonFinite(x) >= 0 {
								wantOK = false
							}
							Axpy(acc, c.w[k], x)
						}
						if c.div != 1 {
							DivBy(acc, c.div)
						}
						AddScaled(out, b, c.lambda, acc)
						narrow[f](want[simdtest.Guard+c.dstOff:][:n*f.Size()], out)
						widen[f](out, want[simdtest.Guard+c.dstOff:][:n*f.Size()])
						if FirstNonFinite(out) >= 0 {
							wantOK = false
						}
					})
					exact := 0 // the elements the assembly takes
					switch l {
					case avx512:
						exact = n &^ 15
					case avx2:
						exact = n &^ 7
					}
					diffFused(t, fmt.Sprintf("%s at %s vs the slice kernels", c, l), f, n, c.dstOff, exact, got, want)
					if gotOK != wantOK {
						t.Fatalf("%s at %s: ok = %v, slice kernels %v", c, l, gotOK, wantOK)
					}
				}
			}
		}
	}
}

// Every sum starts from +0: all products -0 sum to +0 (-0 + -0 would be
// -0), so SumLinear of -0 inputs and SumScaled of -0 inputs on a -0 base
// give +0.
func TestFusedSignedZero(t *testing.T) {
	for _, l := range append(simdtest.Levels(), generic) {
		for _, f := range fusedFormats {
			for _, n := range []int{1, 15, 16, 40, 300} {
				negZero := make([]byte, n*f.Size())
				for j := range n {
					putElemBits(f, negZero, j, encode(f, float32(math.Copysign(0, -1))))
				}
				srcs, w := [][]byte{negZero, negZero, negZero}, []float32{1, 2, 0.5}
				for _, linear := range []bool{false, true} {
					dst := make([]byte, len(negZero))
					atLevel(l, func() {
						if linear {
							SumLinear(f, dst, negZero, srcs, w)
						} else {
							SumScaled(f, dst, negZero, srcs, w, 3, 1)
						}
					})
					for j := range n {
						if b := elemBits(f, dst, j); b != 0 {
							t.Fatalf("%s %s n=%d linear=%v: element %d is %#x, want +0", l, fmtName(f), n, linear, j, b)
						}
					}
				}
			}
		}
	}
}

func TestFusedPanics(t *testing.T) {
	b4, b2 := make([]byte, 4), make([]byte, 2)
	simdtest.MustPanic(t, "format", func() { SumScaled(0, b4, b4, nil, nil, 1, 1) })
	simdtest.MustPanic(t, "odd dst", func() { SumScaled(BF16, make([]byte, 3), make([]byte, 3), nil, nil, 1, 1) })
	simdtest.MustPanic(t, "f32 dst", func() { SumLinear(F32, b2, b2, nil, nil) })
	simdtest.MustPanic(t, "base", func() { SumScaled(F16, b4, b2, nil, nil, 1, 1) })
	simdtest.MustPanic(t, "weights", func() { SumLinear(BF16, b4, b4, [][]byte{b4}, nil) })
	simdtest.MustPanic(t, "source", func() { SumScaled(BF16, b4, b4, [][]byte{b2}, []float32{1}, 1, 1) })
}

// fuzzFused runs a fuzz input through SumScaled or SumLinear at every level
// and compares with generic. data holds the base and N inputs, one after
// another, then odd bytes; the weights are w0 scaled by 1, -½, ¼, …
func fuzzFused(t *testing.T, linear bool, data []byte, format, nsrc, off uint8, w0, div, lambda uint32) {
	f := fusedFormats[int(format)%3]
	nIn := int(nsrc % 10) // 0–9 inputs
	n := len(data) / f.Size() / (nIn + 1)
	sz := n * f.Size()
	o := int(off)
	c := &fusedCase{f: f, n: n, linear: linear, dstOff: o % 4, div: math.Float32frombits(div), lambda: math.Float32frombits(lambda)}
	c.base = simdtest.Unaligned8(data[:sz], o/4%4)
	w := math.Float32frombits(w0)
	for k := range nIn {
		c.srcs = append(c.srcs, simdtest.Unaligned8(data[(k+1)*sz:(k+2)*sz], (o/16+k)%4))
		c.w = append(c.w, w)
		w *= -0.5
	}
	for _, l := range simdtest.Levels() {
		checkCase(t, l, c)
	}
}

func fuzzSeeds(f *testing.F) {
	r := rand.New(rand.NewPCG(19, 20))
	for i, ff := range fusedFormats {
		for m := range numModes {
			data := fusedElems(r, ff, 5*37, m)
			f.Add(data, uint8(i), uint8(4), uint8(m*7), math.Float32bits(0.7), math.Float32bits(3), math.Float32bits(0.5))
		}
		sp := fusedSpecials[ff]
		data := make([]byte, 0, 4*len(sp)*3)
		for j := range 3 * len(sp) {
			data = binary.LittleEndian.AppendUint32(data, sp[(j*7)%len(sp)])
		}
		f.Add(data, uint8(i), uint8(2), uint8(1), math.Float32bits(1), math.Float32bits(1), math.Float32bits(1))
		f.Add(data, uint8(i), uint8(9), uint8(3), math.Float32bits(-1e-30), math.Float32bits(0), math.Float32bits(1e30))
	}
	f.Add(make([]byte, 700), uint8(0), uint8(1), uint8(0), uint32(0x80000000), uint32(0x7FC00000), uint32(0))
	// Wide enough for the main loops: 1000 elements, 2 inputs.
	for i, ff := range fusedFormats {
		data := fusedElems(r, ff, 3000*2/ff.Size(), modeSparse)
		f.Add(data, uint8(i), uint8(2), uint8(5), math.Float32bits(0.3), math.Float32bits(2), math.Float32bits(0.9))
	}
}

// FuzzSumScaled and FuzzSumLinear compare the assembly with the generic
// loops on the fuzzer's bytes:
//
//	go test -run XXX -fuzz FuzzSumScaled ./merge/kernel
func FuzzSumScaled(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte, format, nsrc, off uint8, w0, div, lambda uint32) {
		fuzzFused(t, false, data, format, nsrc, off, w0, div, lambda)
	})
}

func FuzzSumLinear(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte, format, nsrc, off uint8, w0, div, lambda uint32) {
		fuzzFused(t, true, data, format, nsrc, off, w0, div, lambda)
	})
}

// The AVX2 functions must run on a CPU without AVX-512: avo allocates from
// all 32 vector registers, and the assembler quietly gives an instruction
// that has an EVEX form (VMULPS Y16, …) that encoding. No AVX2 function may
// name a register above 15, a ZMM register or a mask register.
func TestAVX2UsesOnlyVEXRegisters(t *testing.T) {
	src, err := os.ReadFile("kernel_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	evex := regexp.MustCompile(`\b([XY](1[6-9]|2[0-9]|3[01])|Z[0-9]+|K[0-7])\b`)
	fn := ""
	for i, line := range strings.Split(string(src), "\n") {
		if strings.HasPrefix(line, "TEXT ") {
			fn = strings.Fields(line)[1]
		}
		if strings.Contains(fn, "AVX2") && !strings.HasPrefix(strings.TrimSpace(line), "//") {
			if m := evex.FindString(line); m != "" {
				t.Errorf("kernel_amd64.s:%d: %s uses %s: %s", i+1, fn, m, strings.TrimSpace(line))
			}
		}
	}
}
