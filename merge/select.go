package merge

import (
	"encoding/binary"

	"github.com/potluck-hub/potluck/merge/kernel"
)

// Magnitude trimming (TIES, breadcrumbs) keeps or drops elements by their
// rank in one total order of a tensor's elements: a ranks above b when
// |a| > |b|, or |a| = |b| and a comes first in the tensor. Ties are thus
// broken by position, the earlier element kept, so the kept set is the same
// on every run, for every chunking and number of workers.
//
// A cut at rank q splits the elements into the q lowest and the N−q above
// them. It is found without sorting: the magnitude of a float32 is its bits
// with the sign cleared (a key that orders like the magnitude), and two
// passes of 65536-bin histograms over the keys (the high 16 bits, then the
// low 16 bits inside the one high bin that holds rank q) give the key K at
// rank q, the number L of elements below K and the number E equal to it.
// Of the E elements equal to K, the first L+E−q in tensor order are above
// the cut: the cut is (K, L+E−q), applied in one more pass in tensor order.

// histBins is the size of each histogram pass.
const histBins = 1 << 16

// cut is one magnitude cut.
type cut struct {
	all, none bool   // every element is above (q = 0), or none is (q = N)
	key       uint32 // K
	eqAbove   int64  // L+E−q
	eq        int64  // E: the elements whose key is K
}

// cutState applies a cut in one pass over the tensor, in element order.
type cutState struct {
	c    cut
	seen int64 // elements with key K met so far in this pass
}

// above reports whether the next element, of magnitude key k, is above the
// cut. It must be called once per element, in order.
func (s *cutState) above(k uint32) bool {
	switch {
	case s.c.all:
		return true
	case s.c.none || k < s.c.key:
		return false
	case k > s.c.key:
		return true
	}
	s.seen++
	return s.seen <= s.c.eqAbove
}

// magKey is the magnitude key of a float32: its bits, sign cleared.
func magKey(bits uint32) uint32 { return bits & 0x7FFF_FFFF }

// cutFinder finds the cuts at ranks qs (each in [0, n]) of one input's
// elements, streamed twice through pass.
type cutFinder struct {
	hi  []int64     // histogram of key>>16
	hi4 [4][]uint32 // its four partial tables (histHigh)
	lo  [][]int64   // per cut, histogram of key&0xFFFF in its high bin
	bin []int       // per cut, its high bin
	low []int64     // per cut, elements below its high bin
}

func newCutFinder() *cutFinder {
	f := &cutFinder{hi: make([]int64, histBins), lo: [][]int64{make([]int64, histBins), make([]int64, histBins)}}
	for i := range f.hi4 {
		f.hi4[i] = make([]uint32, 1<<15) // a magnitude key's high 16 bits are below 2¹⁵
	}
	return f
}

// find returns the cuts at ranks qs of n elements. high fills the
// histogram of the keys' high 16 bits (from a pass over the input, or its
// trim statistics); exact, when set, maps a bin to its one key (bfloat16
// and half inputs, whose 15-bit keys are whole keys), else pass streams
// the input again for the low 16 bits inside each cut's bin.
func (f *cutFinder) find(n int64, qs []int64, exact func(bin int) uint32, high func(hi []int64) error, low func(bins []int, lo [][]int64) error) ([]cut, error) {
	cuts := make([]cut, len(qs))
	clear(f.hi)
	if err := high(f.hi); err != nil {
		return nil, err
	}
	f.bin, f.low = f.bin[:0], f.low[:0]
	for i, q := range qs {
		cuts[i] = cut{all: q <= 0, none: q >= n}
		b, below := rankBin(f.hi, q)
		f.bin, f.low = append(f.bin, b), append(f.low, below)
		clear(f.lo[i])
	}
	if exact == nil {
		if err := low(f.bin, f.lo[:len(qs)]); err != nil {
			return nil, err
		}
	}
	for i, q := range qs {
		if cuts[i].all || cuts[i].none {
			continue
		}
		if exact != nil {
			e := f.hi[f.bin[i]]
			cuts[i].key = exact(f.bin[i])
			cuts[i].eqAbove = f.low[i] + e - q
			cuts[i].eq = e
			continue
		}
		l, below := rankBin(f.lo[i], q-f.low[i])
		e := f.lo[i][l]
		cuts[i].key = uint32(f.bin[i])<<16 | uint32(l)
		cuts[i].eqAbove = f.low[i] + below + e - q
		cuts[i].eq = e
	}
	return cuts, nil
}

// foldHigh adds the four partial tables of histHigh or histRaw16 into hi,
// and clears them.
// highOf is find's high from pass, a pass over the widened values.
func (f *cutFinder) highOf(pass func(func(x []float32)) error) func(hi []int64) error {
	return func(hi []int64) error {
		err := pass(func(x []float32) { histHigh(&f.hi4, x) })
		f.foldHigh(hi)
		return err
	}
}

// lowOf is find's low from pass, a pass over the widened values.
func (f *cutFinder) lowOf(pass func(func(x []float32)) error) func(bins []int, lo [][]int64) error {
	return func(bins []int, lo [][]int64) error {
		return pass(func(x []float32) {
			for i, b := range bins {
				histLow(lo[i], x, uint32(b))
			}
		})
	}
}

func (f *cutFinder) foldHigh(hi []int64) {
	for _, h := range f.hi4 {
		for b, c := range h {
			hi[b] += int64(c)
		}
		clear(h)
	}
}

// rankBin returns the bin holding rank q (0-based, ascending) and the count
// of elements in the bins before it.
func rankBin(h []int64, q int64) (int, int64) {
	var cum int64
	for b, c := range h {
		if cum+c > q {
			return b, cum
		}
		cum += c
	}
	return len(h) - 1, cum - h[len(h)-1]
}

// histHigh counts the magnitude keys of x by their high 16 bits, element i
// in table i mod 4: runs of equal keys, common in weights, then do not wait
// on one counter's previous increment. Each table takes a quarter of a
// tensor, so its uint32 counts cannot overflow below 2³⁴ elements.
func histHigh(h *[4][]uint32, x []float32) {
	h0, h1, h2, h3 := h[0][:1<<15], h[1][:1<<15], h[2][:1<<15], h[3][:1<<15]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		h0[(f32bits(x[i])>>16)&0x7FFF]++
		h1[(f32bits(x[i+1])>>16)&0x7FFF]++
		h2[(f32bits(x[i+2])>>16)&0x7FFF]++
		h3[(f32bits(x[i+3])>>16)&0x7FFF]++
	}
	for ; i < len(x); i++ {
		h0[(f32bits(x[i])>>16)&0x7FFF]++
	}
}

// histRaw16 counts raw little-endian 16-bit floats (bfloat16 or half) by
// their 15-bit magnitude key. For bfloat16 that is histHigh's bin of the
// widened value (a bfloat16 is its float32's high 16 bits); for half,
// widening is increasing in the key, so the bins rank alike.
func histRaw16(h *[4][]uint32, b []byte) {
	h0, h1, h2, h3 := h[0][:1<<15], h[1][:1<<15], h[2][:1<<15], h[3][:1<<15]
	i := 0
	for ; i+8 <= len(b); i += 8 {
		v := binary.LittleEndian.Uint64(b[i:])
		h0[v&0x7FFF]++
		h1[(v>>16)&0x7FFF]++
		h2[(v>>32)&0x7FFF]++
		h3[(v>>48)&0x7FFF]++
	}
	for ; i+2 <= len(b); i += 2 {
		h0[binary.LittleEndian.Uint16(b[i:])&0x7FFF]++
	}
}

// histRaw32 is histHigh over raw little-endian float32s: the same bins,
// without widening them first.
func histRaw32(h *[4][]uint32, b []byte) {
	h0, h1, h2, h3 := h[0][:1<<15], h[1][:1<<15], h[2][:1<<15], h[3][:1<<15]
	i := 0
	for ; i+16 <= len(b); i += 16 {
		v, w := binary.LittleEndian.Uint64(b[i:]), binary.LittleEndian.Uint64(b[i+8:])
		h0[(v>>16)&0x7FFF]++
		h1[(v>>48)&0x7FFF]++
		h2[(w>>16)&0x7FFF]++
		h3[(w>>48)&0x7FFF]++
	}
	for ; i+4 <= len(b); i += 4 {
		h0[(binary.LittleEndian.Uint32(b[i:])>>16)&0x7FFF]++
	}
}

// histLowRaw32 is histLow over raw little-endian float32s for each cut's
// bin at once: lo[c] counts the low 16 bits of the keys in bins[c]. Almost
// every element is in neither bin (a few in a thousand are), so the
// elements between two that are go by kernel.FirstInBins, at the speed of
// their load.
func histLowRaw32(lo [][]int64, bins []int, b []byte) {
	b0, b1 := uint32(bins[0]), uint32(bins[0])
	l0, l1 := lo[0][:1<<16], lo[0][:1<<16]
	if len(bins) > 1 {
		b1, l1 = uint32(bins[1]), lo[1][:1<<16]
	}
	for {
		i := kernel.FirstInBins(b, b0, b1)
		if 4*i+4 > len(b) {
			return
		}
		k := binary.LittleEndian.Uint32(b[4*i:]) & 0x7FFFFFFF
		if k>>16 == b0 {
			l0[k&0xFFFF]++
		} else {
			l1[k&0xFFFF]++
		}
		b = b[4*i+4:]
	}
}

// nonFiniteBins reports whether a 15-bit key histogram counts an Inf or a
// NaN: a key from inf up (0x7F80 for bfloat16, 0x7C00 for half).
func nonFiniteBins(h *[4][]uint32, inf int) bool {
	for _, t := range h {
		for _, c := range t[inf:] {
			if c != 0 {
				return true
			}
		}
	}
	return false
}

// histLow counts, among the elements of x whose key's high 16 bits are bin,
// their low 16 bits.
func histLow(h []int64, x []float32, bin uint32) {
	for _, v := range x {
		if k := magKey(f32bits(v)); k>>16 == bin {
			h[k&0xFFFF]++
		}
	}
}

// countKey returns how many elements of x sit on the cut's key (none when
// the cut does not count them).
func (s *cutState) countKey(x []float32) int64 {
	if s.stateless() {
		return 0
	}
	return int64(kernel.CountKey(x, s.c.key))
}

// stateless reports whether the cut decides an element by its key alone:
// no element sits on the cut's key with only some of them kept.
func (s *cutState) stateless() bool {
	return s.c.all || s.c.none || s.c.eqAbove == 0 || s.c.eqAbove == s.c.eq
}

// keptAll is a start from which a cut keeps every element on its key
// that a tensor can hold.
const keptAll = -1 << 62

// guess returns a start for the cut over elements [from, to) of n: the
// elements on its key are kept up to the eqAbove-th, which, were they
// spread evenly, would come at eqAbove/eq of the tensor; the elements
// before it get keptAll, those after it eqAbove (none kept).
func (s *cutState) guess(from, to, n int64) int64 {
	if s.stateless() {
		return 0
	}
	mid := float64(from+to) / 2 / float64(n)
	if mid < float64(s.c.eqAbove)/float64(s.c.eq) {
		return keptAll
	}
	return s.c.eqAbove
}

// same reports whether count c of elements on the key are decided alike
// from start g and from start a: the k-th of them (from 0) is kept when
// start+k < eqAbove.
func (s *cutState) same(g, a, c int64) bool {
	if s.stateless() || c == 0 || g == a {
		return true
	}
	e := s.c.eqAbove
	return (g+c <= e && a+c <= e) || (g >= e && a >= e)
}

// threshold returns t such that the cut keeps exactly the elements of x
// whose key k ≥ t, and how many of them sit on its key (the caller adds
// them to seen), or false when the elements on the key are kept only up to
// a point inside x: then above must decide them one by one.
func (s *cutState) threshold(x []float32) (t, n int64, ok bool) {
	switch {
	case s.c.all:
		return 0, 0, true
	case s.c.none:
		return 1 << 32, 0, true
	case s.c.eqAbove == 0: // none of the elements on the key is kept: no count needed
		return int64(s.c.key) + 1, 0, true
	case s.c.eqAbove == s.c.eq: // all of them are
		return int64(s.c.key), 0, true
	}
	key := s.c.key
	n = s.countKey(x)
	switch {
	case s.seen+n <= s.c.eqAbove:
		return int64(key), n, true
	case s.seen >= s.c.eqAbove:
		return int64(key) + 1, n, true
	}
	return 0, 0, false
}
