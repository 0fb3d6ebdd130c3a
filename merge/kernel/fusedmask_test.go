package kernel

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"regexp"
	"strings"
	"testing"
	"unsafe"

	"github.com/potluck-hub/potluck/internal/simdtest"
)

// MergeMasked against the slice kernels it fuses (at the generic level),
// and at every level against the generic loop, bit for bit, on guarded,
// unaligned slices of every length 0–67 and some long ones: every mask
// kind, merge kind and format, specials, overflowing sums, weights that
// are not finite.

// maskedCase is one call's inputs.
type maskedCase struct {
	f      Format
	n      int
	base   []byte
	ins    []MaskedInput
	m      Merge
	dstOff int
	mode   fusedMode
}

func (c *maskedCase) String() string {
	kinds := ""
	for _, in := range c.ins {
		kinds += fmt.Sprintf(" %d(w=%g r=%g lo=%#x hi=%#x keep=%#x)", in.Kind, in.W, in.R, in.Lo, in.Hi, in.Keep)
	}
	return fmt.Sprintf("MergeMasked %s n=%d merge=%+v mode=%d dstOff=%d inputs:%s", fmtName(c.f), c.n, c.m, c.mode, c.dstOff, kinds)
}

// keyBoundFor draws a key bound in f's domain: an end, or near the key of
// one of the elements of src.
func keyBoundFor(r *rand.Rand, f Format, src []byte) uint32 {
	end := uint32(1 << 15)
	if f == F32 {
		end = 1 << 31
	}
	n := len(src) / f.Size()
	switch {
	case r.IntN(4) == 0 || n == 0:
		return []uint32{0, 1, end - 1, end}[r.IntN(4)]
	}
	k := keyOf(f, src[r.IntN(n)*f.Size():]) + uint32(r.IntN(3)) - 1
	return min(k, end)
}

func newMaskedCase(r *rand.Rand, f Format, n, nin int) *maskedCase {
	mode := fusedMode(r.IntN(int(numModes)))
	off := func() int {
		if r.IntN(4) == 0 {
			return 1 + 2*r.IntN(2)
		}
		return r.IntN(4) * f.Size()
	}
	c := &maskedCase{f: f, n: n, mode: mode, dstOff: off()}
	c.base = simdtest.Unaligned8(fusedElems(r, f, n, mode), off())
	c.m = Merge{Kind: MergeKind(r.IntN(3)), Div: 1, Lambda: 1, Normalize: r.IntN(2) == 0}
	if r.IntN(2) == 0 {
		c.m.Div = fusedDivs[r.IntN(len(fusedDivs))]
	}
	if r.IntN(2) == 0 {
		c.m.Lambda = fusedLambdas[r.IntN(len(fusedLambdas))]
	}
	for range nin {
		src := simdtest.Unaligned8(fusedElems(r, f, n, mode), off())
		in := MaskedInput{Src: src, W: fusedWeight(r), R: 1, Kind: MaskKind(r.IntN(4))}
		if r.IntN(2) == 0 {
			in.R = []float32{0.5, 1.75, 3, 1e-3, 0, 1e30}[r.IntN(6)]
		}
		if r.IntN(4) == 0 {
			in.W = 1 // with R 1, the kernels' code without the multiplies
		}
		switch in.Kind {
		case MaskWindow:
			in.Lo, in.Hi = keyBoundFor(r, f, src), keyBoundFor(r, f, src)
			if r.IntN(2) == 0 && in.Lo > in.Hi {
				in.Lo, in.Hi = in.Hi, in.Lo
			}
		case MaskDARE2:
			in.Keep, in.Z = []uint32{0, 1, 0x8000, 0xFFFF, r.Uint32N(1 << 16)}[r.IntN(5)], r.Uint64()
		case MaskWords:
			in.Words = make([]uint32, n)
			for j := range in.Words {
				if r.IntN(2) == 0 {
					in.Words[j] = math.MaxUint32
				}
			}
		}
		c.ins = append(c.ins, in)
	}
	return c
}

// run calls MergeMasked at level l on a fresh guarded dst.
func (c *maskedCase) run(l level) (all []byte, ok bool) {
	dst, all := simdtest.Padded8(c.n*c.f.Size(), c.dstOff, func(int) byte { return 0xA5 })
	scratch := make([]float32, MaskedScratch*len(c.ins))
	atLevel(l, func() { ok = MergeMasked(c.f, dst, c.base, c.ins, c.m, scratch) })
	return all, ok
}

// sliceReference computes the case with the slice kernels, at the generic
// level: each input masked by its definition, widened, scaled, then
// summed or elected. It returns the encoded output and whether every
// input, election sum and output is finite.
func (c *maskedCase) sliceReference() ([]byte, bool) {
	defer ForceGeneric()()
	sz := c.f.Size()
	ok := true
	xs := make([][]float32, len(c.ins))
	w := make([]float32, len(c.ins))
	for k, in := range c.ins {
		raw := append([]byte(nil), in.Src...)
		for j := range c.n {
			b := raw[j*sz : (j+1)*sz]
			key := keyOf(c.f, b)
			ok = ok && key < infKey(c.f)
			keep := true
			switch in.Kind {
			case MaskWindow:
				keep = in.Lo <= key && key < in.Hi
			case MaskDARE2:
				z := splitMix(in.Z + uint64(j/4)*dareGamma)
				keep = uint16(z>>(16*(j%4))) < uint16(min(in.Keep, 0xFFFF)) || in.Keep >= 1<<16
			case MaskWords:
				keep = in.Words[j] == math.MaxUint32
			}
			if !keep {
				clear(b)
			}
		}
		xs[k] = make([]float32, c.n)
		widenGeneric(c.f, xs[k], raw)
		ScaleBy(xs[k], in.R)
		w[k] = in.W
	}
	b := make([]float32, c.n)
	widenGeneric(c.f, b, c.base)
	out := make([]float32, c.n)
	switch c.m.Kind {
	case MergeSum:
		acc := make([]float32, c.n)
		for k := range xs {
			Axpy(acc, w[k], xs[k])
		}
		if c.m.Div != 1 {
			DivBy(acc, c.m.Div)
		}
		AddScaled(out, b, c.m.Lambda, acc)
	case MergeTIES:
		ok = finiteElection(xs, w, false) && ok
		TIESWeighted(out, b, xs, w, c.m.Lambda, c.m.Normalize)
	case MergeTIESPaper:
		ok = finiteElection(xs, w, true) && ok
		TIESPaper(out, b, xs, w, c.m.Lambda, c.m.Normalize)
	}
	enc := make([]byte, c.n*sz)
	narrowGeneric(c.f, enc, out)
	return enc, finiteEncoded(formatOf(c.f), enc) && ok
}

// check compares every level with the generic loop (the same result and,
// when it is true, the same bytes, guards untouched) and the generic loop
// with the slice kernels.
func (c *maskedCase) check(t *testing.T) {
	t.Helper()
	want, wantOK := c.run(generic)
	ref, refOK := c.sliceReference()
	if refOK != wantOK {
		t.Fatalf("%v: generic ok=%v, slice kernels %v", c, wantOK, refOK)
	}
	g := simdtest.Guard + c.dstOff
	if wantOK {
		if i := simdtest.SameBytes(ref, want[g:g+len(ref)]); i >= 0 {
			t.Fatalf("%v: generic byte %d is %#02x, slice kernels %#02x", c, i, want[g+i], ref[i])
		}
	}
	for _, l := range simdtest.Levels() {
		got, ok := c.run(l)
		if ok != wantOK {
			t.Fatalf("%v: %s ok=%v, generic %v", c, l, ok, wantOK)
		}
		if !ok {
			got, want = append([]byte(nil), got...), append([]byte(nil), want...)
			copy(got[g:g+len(ref)], ref) // only the guards must agree
			copy(want[g:g+len(ref)], ref)
		}
		if i := simdtest.SameBytes(want, got); i >= 0 {
			t.Fatalf("%v: %s: buffer byte %d (dst byte %d) is %#02x, generic %#02x", c, l, i, i-g, got[i], want[i])
		}
	}
}

func TestMergeMasked(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	for _, f := range fusedFormats {
		for _, n := range simdtest.Lengths() {
			for _, nin := range []int{0, 1, 2, 3, 4, 5, 8} {
				if n > 200 && r.IntN(4) != 0 {
					continue
				}
				for range 3 {
					newMaskedCase(r, f, n, nin).check(t)
				}
			}
		}
	}
}

// TestMergeMaskedFinite runs ordinary values only, so that most calls
// report true and their bytes are compared.
func TestMergeMaskedFinite(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 44))
	for _, f := range fusedFormats {
		for _, n := range []int{1, 16, 31, 32, 33, 64, 67, 1000, 4099} {
			for _, nin := range []int{1, 2, 4, 7} {
				for range 4 {
					c := newMaskedCase(r, f, n, nin)
					c.base = simdtest.Unaligned8(unitElems(r, f, n), 1)
					for k := range c.ins {
						c.ins[k].Src = simdtest.Unaligned8(fusedElems(r, f, n, modeFinite), 2)
						c.ins[k].W = float32(r.NormFloat64())
						c.ins[k].R = []float32{1, 0.5, 2.5}[r.IntN(3)]
						if c.ins[k].Kind == MaskWindow {
							c.ins[k].Lo, c.ins[k].Hi = keyBoundFor(r, f, c.ins[k].Src), keyBoundFor(r, f, nil)
						}
					}
					c.m.Div, c.m.Lambda = []float32{1, 3, 0.5}[r.IntN(3)], []float32{1, 0.8, -1.5}[r.IntN(3)]
					if _, ok := c.run(generic); !ok {
						continue
					}
					c.check(t)
				}
			}
		}
	}
}

func FuzzMergeMasked(f *testing.F) {
	f.Add(simdtest.SpecialBytes(), uint8(0), uint16(3))
	f.Fuzz(func(t *testing.T, data []byte, sel uint8, keep uint16) {
		fm := fusedFormats[int(sel)%3]
		sz := fm.Size()
		n := len(data) / sz / 3
		if n == 0 {
			return
		}
		c := &maskedCase{f: fm, n: n, base: data[:n*sz], m: Merge{Kind: MergeKind(sel / 3 % 3), Div: 1, Lambda: 1, Normalize: sel&64 != 0}}
		for k := range 2 {
			src := data[(k+1)*n*sz : (k+2)*n*sz]
			in := MaskedInput{Src: src, W: 1 - 2*float32(k)/3, R: 1, Kind: MaskKind((int(sel) >> (4 + k)) % 4)}
			switch in.Kind {
			case MaskWindow:
				in.Lo, in.Hi = uint32(keep)&0x7FFF, 0x7000
				if fm == F32 {
					in.Lo, in.Hi = uint32(keep)<<16, 0x7F000000
				}
			case MaskDARE2:
				in.Keep, in.Z = uint32(keep), binary.LittleEndian.Uint64(append(append([]byte(nil), data...), make([]byte, 8)...))
			case MaskWords:
				in.Words = make([]uint32, n)
				for j := range in.Words {
					if data[j]&1 != 0 {
						in.Words[j] = math.MaxUint32
					}
				}
			}
			c.ins = append(c.ins, in)
		}
		c.check(t)
	})
}

func TestMergeMaskedPanics(t *testing.T) {
	s := make([]float32, 2*MaskedScratch)
	b := make([]byte, 8)
	simdtest.MustPanic(t, "short input", func() { MergeMasked(BF16, b, b, []MaskedInput{{Src: b[:6]}}, Merge{}, s) })
	simdtest.MustPanic(t, "short words", func() { MergeMasked(BF16, b, b, []MaskedInput{{Src: b, Kind: MaskWords}}, Merge{}, s) })
	simdtest.MustPanic(t, "short scratch", func() { MergeMasked(BF16, b, b, make([]MaskedInput, 3), Merge{}, s) })
	simdtest.MustPanic(t, "base", func() { MergeMasked(F32, b, b[:4], nil, Merge{}, s) })
}

func TestCountKeys(t *testing.T) {
	r := rand.New(rand.NewPCG(45, 46))
	for _, f := range fusedFormats {
		for _, n := range append(simdtest.Lengths(), 1<<17+3) {
			raw := simdtest.Unaligned8(fusedElems(r, f, n, fusedMode(r.IntN(int(numModes)))), r.IntN(4))
			if n > 0 && r.IntN(2) == 0 { // runs of one key
				for j := range n {
					if r.IntN(3) == 0 {
						copy(raw[j*f.Size():], raw[:f.Size()])
					}
				}
			}
			for range 4 {
				below, eq := keyBoundFor(r, f, raw), keyBoundFor(r, f, raw)
				if r.IntN(4) == 0 {
					eq = math.MaxUint32
				}
				wb, we := countKeysGeneric(f, raw, below, eq)
				for _, l := range append(simdtest.Levels(), generic) {
					var gb, ge int
					atLevel(l, func() { gb, ge = CountKeys(f, raw, below, eq) })
					if gb != wb || ge != we {
						t.Fatalf("CountKeys %s %s n=%d below=%#x eq=%#x: (%d, %d), want (%d, %d)", fmtName(f), l, n, below, eq, gb, ge, wb, we)
					}
				}
			}
		}
	}
}

// TestMaskedInputLayout pins MaskedInput's layout, which the assembly
// reads by offset (_asm/masked.go).
func TestMaskedInputLayout(t *testing.T) {
	var in MaskedInput
	got := []uintptr{unsafe.Offsetof(in.Src), unsafe.Offsetof(in.W), unsafe.Offsetof(in.R), unsafe.Offsetof(in.Kind),
		unsafe.Offsetof(in.Lo), unsafe.Offsetof(in.Hi), unsafe.Offsetof(in.Keep), unsafe.Offsetof(in.Z), unsafe.Offsetof(in.Words), unsafe.Sizeof(in)}
	want := []uintptr{0, 24, 28, 32, 36, 40, 44, 48, 56, 80}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("MaskedInput offsets %v, the assembly reads %v", got, want)
		}
	}
}

// TestAVX2Registers reads the generated assembly: an AVX2 function must not
// touch a register that only AVX-512 encodes (X16–X31, Y16–Y31, Z, K),
// which avo's allocator may pick when too many vectors are live.
func TestAVX2Registers(t *testing.T) {
	evexOnly := regexp.MustCompile(`\b([XY](1[6-9]|2[0-9]|3[01])|Z[0-9]+|K[0-7])\b`)
	for _, file := range []string{"kernel_amd64.s", "mask_amd64.s", "robust_amd64.s"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		fn := ""
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "TEXT ") {
				fn = line
				continue
			}
			if strings.Contains(fn, "AVX2") && !strings.HasPrefix(strings.TrimSpace(line), "//") && evexOnly.MatchString(line) {
				t.Errorf("%s: %s uses an AVX-512 register: %s", file, strings.Fields(fn)[1], strings.TrimSpace(line))
			}
		}
	}
}
