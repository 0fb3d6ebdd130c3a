package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/potluck-hub/potluck/internal/simdtest"
)

// MedianEncoded and TrimmedEncoded against the slice kernels they fuse (at
// the generic level), and at every level against the generic loop, bit for
// bit when the result is true, on guarded slices of every length 0–67 and
// some long ones, 1 to 10 inputs, every format, specials and overflow.

type robustCase struct {
	f      Format
	n      int
	base   []byte
	srcs   [][]byte
	k      int // −1: the median
	lambda float32
	dstOff int
	mode   fusedMode
}

func (c *robustCase) String() string {
	return fmt.Sprintf("%s n=%d N=%d k=%d λ=%g mode=%d dstOff=%d", fmtName(c.f), c.n, len(c.srcs), c.k, c.lambda, c.mode, c.dstOff)
}

func newRobustCase(r *rand.Rand, f Format, n, nsrc int) *robustCase {
	mode := fusedMode(r.IntN(int(numModes)))
	c := &robustCase{f: f, n: n, mode: mode, k: -1, lambda: 1, dstOff: r.IntN(4) * f.Size()}
	c.base = simdtest.Unaligned8(fusedElems(r, f, n, mode), r.IntN(4))
	for range nsrc {
		c.srcs = append(c.srcs, simdtest.Unaligned8(fusedElems(r, f, n, mode), r.IntN(4)))
	}
	if r.IntN(2) == 0 {
		c.k = r.IntN((nsrc + 1) / 2)
	}
	if r.IntN(2) == 0 {
		c.lambda = fusedLambdas[r.IntN(len(fusedLambdas))]
	}
	return c
}

func (c *robustCase) run(l level) (all []byte, ok bool) {
	dst, all := simdtest.Padded8(c.n*c.f.Size(), c.dstOff, func(int) byte { return 0xA5 })
	atLevel(l, func() {
		if c.k < 0 {
			ok = MedianEncoded(c.f, dst, c.base, c.srcs, c.lambda)
		} else {
			ok = TrimmedEncoded(c.f, dst, c.base, c.srcs, c.k, c.lambda)
		}
	})
	return all, ok
}

// sliceReference is the case through WidenX, the robust slice kernels and
// NarrowX, at the generic level.
func (c *robustCase) sliceReference() ([]byte, bool) {
	defer ForceGeneric()()
	ok := true
	xs := make([][]float32, len(c.srcs))
	for i, s := range c.srcs {
		xs[i] = make([]float32, c.n)
		widenGeneric(c.f, xs[i], s)
		ok = ok && FirstNonFinite(xs[i]) < 0
	}
	b, out := make([]float32, c.n), make([]float32, c.n)
	widenGeneric(c.f, b, c.base)
	if c.k < 0 {
		MedianCombine(out, b, xs, c.lambda)
	} else {
		TrimmedCombine(out, b, xs, c.k, c.lambda)
	}
	enc := make([]byte, c.n*c.f.Size())
	narrowGeneric(c.f, enc, out)
	return enc, finiteEncoded(formatOf(c.f), enc) && ok
}

func (c *robustCase) check(t *testing.T) {
	t.Helper()
	want, wantOK := c.run(generic)
	ref, refOK := c.sliceReference()
	g := simdtest.Guard + c.dstOff
	if refOK != wantOK {
		t.Fatalf("%v: generic ok=%v, slice kernels %v", c, wantOK, refOK)
	}
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
			copy(got[g:g+len(ref)], ref)
			copy(want[g:g+len(ref)], ref)
		}
		if i := simdtest.SameBytes(want, got); i >= 0 {
			t.Fatalf("%v: %s: buffer byte %d (dst byte %d) is %#02x, generic %#02x", c, l, i, i-g, got[i], want[i])
		}
	}
}

func TestRobustEncoded(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	for _, f := range fusedFormats {
		for _, n := range simdtest.Lengths() {
			for nsrc := 1; nsrc <= RobustEncodedMax+2; nsrc++ {
				if n > 200 && r.IntN(4) != 0 {
					continue
				}
				for range 2 {
					newRobustCase(r, f, n, nsrc).check(t)
				}
			}
		}
	}
}

// TestRobustEncodedFinite runs ordinary values, so that the bytes are
// compared.
func TestRobustEncodedFinite(t *testing.T) {
	r := rand.New(rand.NewPCG(53, 54))
	compared := 0
	for _, f := range fusedFormats {
		for _, n := range []int{8, 16, 33, 1000} {
			for nsrc := 1; nsrc <= RobustEncodedMax; nsrc++ {
				c := newRobustCase(r, f, n, nsrc)
				c.base = unitElems(r, f, n)
				for i := range c.srcs {
					c.srcs[i] = fusedElems(r, f, n, modeFinite)
				}
				c.lambda = 0.8
				if _, ok := c.run(generic); ok {
					compared++
				}
				c.check(t)
			}
		}
	}
	if compared < 50 {
		t.Fatalf("only %d cases compared their bytes", compared)
	}
}

func FuzzRobustEncoded(f *testing.F) {
	f.Add(simdtest.SpecialBytes(), uint8(3), int8(-1))
	f.Fuzz(func(t *testing.T, data []byte, sel uint8, k int8) {
		fm := fusedFormats[int(sel)%3]
		nsrc := 1 + int(sel/3)%RobustEncodedMax
		n := len(data) / fm.Size() / (nsrc + 1)
		if n == 0 {
			return
		}
		sz := fm.Size()
		c := &robustCase{f: fm, n: n, base: data[:n*sz], k: -1, lambda: 1}
		for i := range nsrc {
			c.srcs = append(c.srcs, data[(i+1)*n*sz:(i+2)*n*sz])
		}
		if k >= 0 {
			c.k = int(k) % ((nsrc + 1) / 2)
		}
		c.check(t)
	})
}

func TestRobustEncodedPanics(t *testing.T) {
	b := make([]byte, 8)
	simdtest.MustPanic(t, "no inputs", func() { MedianEncoded(BF16, b, b, nil, 1) })
	simdtest.MustPanic(t, "short input", func() { MedianEncoded(BF16, b, b, [][]byte{b[:6]}, 1) })
	simdtest.MustPanic(t, "k", func() { TrimmedEncoded(BF16, b, b, [][]byte{b, b}, 1, 1) })
}
