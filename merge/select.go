package merge

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
	hi  []int64   // histogram of key>>16
	lo  [][]int64 // per cut, histogram of key&0xFFFF in its high bin
	bin []int     // per cut, its high bin
	low []int64   // per cut, elements below its high bin
}

func newCutFinder() *cutFinder {
	return &cutFinder{hi: make([]int64, histBins), lo: [][]int64{make([]int64, histBins), make([]int64, histBins)}}
}

// find returns the cuts at ranks qs. pass calls its function on every chunk
// of the tensor in order.
func (f *cutFinder) find(n int64, qs []int64, pass func(func(x []float32)) error) ([]cut, error) {
	cuts := make([]cut, len(qs))
	clear(f.hi)
	if err := pass(func(x []float32) { histHigh(f.hi, x) }); err != nil {
		return nil, err
	}
	f.bin, f.low = f.bin[:0], f.low[:0]
	for i, q := range qs {
		cuts[i] = cut{all: q <= 0, none: q >= n}
		b, below := rankBin(f.hi, q)
		f.bin, f.low = append(f.bin, b), append(f.low, below)
		clear(f.lo[i])
	}
	err := pass(func(x []float32) {
		for i := range qs {
			histLow(f.lo[i], x, uint32(f.bin[i]))
		}
	})
	if err != nil {
		return nil, err
	}
	for i, q := range qs {
		if cuts[i].all || cuts[i].none {
			continue
		}
		l, below := rankBin(f.lo[i], q-f.low[i])
		e := f.lo[i][l]
		cuts[i].key = uint32(f.bin[i])<<16 | uint32(l)
		cuts[i].eqAbove = f.low[i] + below + e - q
	}
	return cuts, nil
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

// histHigh counts the magnitude keys of x by their high 16 bits.
func histHigh(h []int64, x []float32) {
	for _, v := range x {
		h[magKey(f32bits(v))>>16]++
	}
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
