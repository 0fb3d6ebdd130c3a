package merge

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/potluck-hub/potluck/safetensors"
)

// magnitudeMask, which decides whole chunks by a threshold where it can,
// keeps exactly the elements the per-element rule keeps, for cuts whose
// ties run out before, inside and after a chunk, in chunks of any length.
func TestMagnitudeMaskMatchesPerElement(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	const n = 5000
	vals := make([]float32, n)
	for i := range vals {
		// Few distinct magnitudes: many ties on every key, both signs, zeros.
		vals[i] = float32(r.IntN(9)-4) * 0.25
	}
	cuts := []cut{{all: true}, {none: true}}
	for _, key := range []float32{0, 0.25, 0.5, 1} {
		k := magKey(math.Float32bits(key))
		var eq int64
		for _, v := range vals {
			if magKey(math.Float32bits(v)) == k {
				eq++
			}
		}
		for _, above := range []int64{0, 1, eq / 3, eq - 1, eq} {
			cuts = append(cuts, cut{key: k, eqAbove: above, eq: eq})
		}
	}
	for _, lo := range cuts {
		for _, hi := range []cut{{none: true}, cuts[len(cuts)-3]} {
			want := make([]float32, n)
			copy(want, vals)
			wl, wh := cutState{c: lo}, cutState{c: hi}
			for i, v := range want {
				k := magKey(math.Float32bits(v))
				if a, b := wl.above(k), wh.above(k); !a || b {
					want[i] = 0
				}
			}
			for _, chunk := range []int{1, 7, 64, 333, n} {
				got := make([]float32, n)
				copy(got, vals)
				gl, gh := cutState{c: lo}, cutState{c: hi}
				for off := 0; off < n; off += chunk {
					magnitudeMask(got[off:min(off+chunk, n)], &gl, &gh)
				}
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("cuts %+v %+v, chunk %d: element %d is %v, want %v", lo, hi, chunk, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// firstNonFiniteEncoded, eight bytes at a time, finds the first Inf or NaN
// a plain element-by-element scan finds, for every dtype, position and
// length, and none in finite data (largest finite values included).
func TestFirstNonFiniteEncoded(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	type format struct {
		dt        safetensors.DType
		exp       uint64
		maxFinite uint64
	}
	for _, f := range []format{
		{safetensors.BF16, 0x7F80, 0x7F7F}, {safetensors.F16, 0x7C00, 0x7BFF},
		{safetensors.F32, 0x7F800000, 0x7F7FFFFF}, {safetensors.F64, 0x7FF0000000000000, 0x7FEFFFFFFFFFFFFF},
	} {
		size := f.dt.Size()
		put := func(b []byte, v uint64) {
			for k := range size {
				b[k] = byte(v >> (8 * k))
			}
		}
		for n := 0; n < 40; n++ {
			for trial := 0; trial < 20; trial++ {
				raw := make([]byte, n*size)
				for i := 0; i < n; i++ {
					v := r.Uint64() &^ f.exp // finite: exponent bits never all ones
					if r.IntN(4) == 0 {
						v = f.maxFinite | r.Uint64()&(1<<(8*size-1)) // largest finite, either sign
					}
					put(raw[i*size:], v)
				}
				want := -1
				if n > 0 && trial%2 == 1 {
					at := r.IntN(n)
					put(raw[at*size:], f.exp|r.Uint64()&^f.exp&(1<<(8*size-1)|(f.exp-1)&^f.exp)) // Inf or a NaN
					if trial%4 == 3 && at+1 < n {
						put(raw[(at+1+r.IntN(n-at-1))*size:], f.exp) // a later one too
					}
					want = at
				}
				if got := firstNonFiniteEncoded(raw, f.dt); got != want {
					t.Fatalf("%s, %d elements: first non-finite at %d, want %d", f.dt, n, got, want)
				}
			}
		}
	}
}

// TestRawHistogramsMatchWidened: the float32 histograms taken on raw
// bytes (histRaw32, histLowRaw32's word-parallel filter) count exactly
// what the plain per-element loops over the values count, for one cut and
// two, on keys in, beside and far from the bins, including a zero high
// field beside a matching one (the filter's borrow case) and odd lengths.
func TestRawHistogramsMatchWidened(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 1, 3, 4, 5, 17, 4099} {
		for trial := range 20 {
			b0 := uint32(r.IntN(0x7F80))
			b1 := uint32(r.IntN(0x7F80))
			if trial%3 == 0 {
				b1 = b0 + 1
			}
			x := make([]float32, n)
			for i := range x {
				var k uint32
				switch r.IntN(6) {
				case 0:
					k = b0<<16 | uint32(r.IntN(1<<16))
				case 1:
					k = b1<<16 | uint32(r.IntN(1<<16))
				case 2:
					k = uint32(r.IntN(1 << 16)) // high field zero
				case 3:
					k = (b0^1)<<16 | uint32(r.IntN(1<<16))
				default:
					k = uint32(r.IntN(0x7F800000))
				}
				x[i] = math.Float32frombits(k | uint32(r.IntN(2))<<31)
			}
			raw := f32Bytes(x)
			for _, bins := range [][]int{{int(b0)}, {int(b0), int(b1)}} {
				want := [][]int64{make([]int64, 1<<16), make([]int64, 1<<16)}
				got := [][]int64{make([]int64, 1<<16), make([]int64, 1<<16)}
				for c, b := range bins {
					histLow(want[c], x, uint32(b))
				}
				histLowRaw32(got, bins, raw)
				for c := range bins {
					if !slices.Equal(got[c], want[c]) {
						t.Fatalf("n %d, bins %v: cut %d's low histogram differs from the per-element count", n, bins, c)
					}
				}
			}
			var h, hw [4][]uint32
			for i := range h {
				h[i], hw[i] = make([]uint32, 1<<15), make([]uint32, 1<<15)
			}
			histRaw32(&h, raw)
			histHigh(&hw, x)
			sum := func(h *[4][]uint32) []uint32 {
				s := make([]uint32, 1<<15)
				for _, t := range h {
					for b, c := range t {
						s[b] += c
					}
				}
				return s
			}
			if !slices.Equal(sum(&h), sum(&hw)) {
				t.Fatalf("n %d: histRaw32 differs from histHigh", n)
			}
		}
	}
}
