//go:build !purego

package kernel

import (
	"math/rand/v2"
	"testing"

	"github.com/potluck-hub/potluck/internal/simdtest"
)

// atPageOffset returns n bytes starting off bytes into a page of their
// own, a copy of src when it is given.
func atPageOffset(n, off int, src []byte) []byte {
	buf := make([]byte, n+off+2*4096)
	start := (4096 - int(pageOffset(buf))) % 4096
	b := buf[start+off : start+off+n : start+off+n]
	copy(b, src)
	return b
}

// TestFusedF32Layouts runs the float32 sums with every stream at one page
// offset, where the AVX-512 kernels take them, and at different offsets,
// where the AVX2 ones do, and checks both against the generic loop.
func TestFusedF32Layouts(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for _, same := range []bool{true, false} {
		for _, linear := range []bool{false, true} {
			for _, n := range []int{16, 256, 272, 1000, 4099} {
				c := newFusedCase(r, F32, n, 1+n%5, linear)
				size := n * F32.Size()
				off := func(i int) int {
					if same {
						return 64
					}
					return 64 + 4*i
				}
				c.base = atPageOffset(size, off(0), c.base)
				for i := range c.srcs {
					c.srcs[i] = atPageOffset(size, off(i+1), c.srcs[i])
				}
				dst := atPageOffset(size, off(len(c.srcs)+1), nil)
				if got := f32Wide(dst, c.base, c.srcs); got != same {
					t.Fatalf("f32Wide = %v with the streams at one page offset %v", got, same)
				}
				want := make([]byte, size)
				var wantOK, gotOK bool
				sum := func(d []byte) bool {
					if linear {
						return SumLinear(F32, d, c.base, c.srcs, c.w)
					}
					return SumScaled(F32, d, c.base, c.srcs, c.w, c.div, c.lambda)
				}
				atLevel(generic, func() { wantOK = sum(want) })
				for _, l := range []level{avx512, avx2} {
					if l > impl {
						continue
					}
					atLevel(l, func() { gotOK = sum(dst) })
					if gotOK != wantOK {
						t.Fatalf("%v at %s, one page offset %v: ok = %v, generic %v", c, l, same, gotOK, wantOK)
					}
					diffFused(t, c.String(), F32, n, 0, 0, pad(dst), pad(want))
				}
			}
		}
	}
}

// pad is a guarded copy of b, as diffFused expects (its dstOff 0).
func pad(b []byte) []byte {
	_, all := simdtest.Padded8(len(b), 0, func(i int) byte { return b[i] })
	return all
}
