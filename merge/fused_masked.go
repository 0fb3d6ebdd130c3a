package merge

import (
	"math"
	"sort"
	"sync/atomic"
	"unsafe"

	"github.com/potluck-hub/potluck/merge/kernel"
)

// The fused masked path: the task-vector methods whose masks are magnitude
// cuts (TIES, breadcrumbs) or DARE's random masks, combined by a sum or by
// TIES sign election, over dense deltas of the base's dtype written in that
// dtype, run kernel.MergeMasked straight on the encoded bytes a block at a
// time: each input thinned by its mask on its encoded bits, rescaled,
// combined and narrowed in registers. Masks and rescaling factors are
// prepared as for the general path (prepare), so both paths do the same
// arithmetic and give the same bits; a block that meets a value that is
// not finite is redone through the general path, which names it.
//
// A magnitude cut keeps the first of the elements on its key (select.go).
// Each block counts, per cut that needs it, the elements on the key
// (kernel.CountKeys, on bytes the block is about to read anyway): when the
// count decides every one of them alike, one window of keys decides the
// block; otherwise the block is split where the cut stops keeping them.
// The same counts give the checks of cuts taken from trim statistics.

// maskedBlock is the elements per MergeMasked call: every input's bytes of
// a block stay in the core's L2 cache between the count and the merge.
const maskedBlock = 16 << 10

// maskedRanges counts the ranges merged by MergeMasked, for tests.
var maskedRanges atomic.Int64

// maskedPlan is a tensor's fused masked merge.
type maskedPlan struct {
	merge  kernel.Merge
	inputs []int     // the inputs merged, in order
	w      []float32 // their weights
}

// planFusedMasked sets tr.fused for a masked merge when every condition
// holds: a sum or TIES combiner, masks the kernel takes (magnitude cuts,
// DARE), no clipping, and every input that changes the tensor a dense
// delta of its dtype.
func (tr *tensorRun) planFusedMasked(f kernel.Format) {
	mp := &maskedPlan{}
	var w []float32
	switch c := tr.comb.(type) {
	case *sum:
		mp.merge, w = kernel.Merge{Kind: kernel.MergeSum, Div: c.div, Lambda: c.lambda}, c.w
	case *ties:
		kind := kernel.MergeTIES
		if c.paper {
			kind = kernel.MergeTIESPaper
		}
		mp.merge, w = kernel.Merge{Kind: kind, Lambda: c.lambda, Normalize: c.normalize}, c.w
	default:
		return
	}
	for i, rd := range tr.rd {
		if rd == nil {
			continue // a zero delta: ±0 in every sum, never elected
		}
		d, ok := rd.(denseReader)
		if !ok || d.t.DType != tr.bt.DType || tr.clip[i] != 1 {
			return
		}
		switch m := tr.masks[i].(type) {
		case nil, *cutMask:
		case randomMask:
			if m.d.scheme != 1 && m.d.scheme != 2 {
				return
			}
		default:
			return
		}
		mp.inputs, mp.w = append(mp.inputs, i), append(mp.w, w[i])
	}
	tr.fused = &fusedPlan{format: f, masked: mp}
}

// maskedState is an engine's scratch for the masked path.
type maskedState struct {
	ins     []kernel.MaskedInput
	scratch []float32
	words   [][]uint32    // per input: scheme-1 DARE masks
	raws    [][]byte      // per input: the block's bytes
	counts  [][2]cutCount // per input: its cuts' counts over the range
	saved   []cutMask     // cut states at the chunk's start
}

// fusedMaskedChunk writes the k elements from off, encoded, into dst, or
// reports false when some block met a value that is not finite: the cut
// masks are then as they were at off, for the general path to redo the
// chunk.
func (tr *tensorRun) fusedMaskedChunk(off int64, k int, dst []byte) (bool, error) {
	p, e := tr.fused, tr.e
	mp := p.masked
	st := &e.masked
	if len(st.ins) < len(mp.inputs) {
		st.ins = make([]kernel.MaskedInput, len(mp.inputs))
		st.scratch = make([]float32, kernel.MaskedScratch*len(mp.inputs))
		st.words = make([][]uint32, len(mp.inputs))
		st.raws = make([][]byte, len(mp.inputs))
		st.saved = make([]cutMask, len(mp.inputs))
		st.counts = make([][2]cutCount, len(mp.inputs))
	}
	for n, i := range mp.inputs {
		if cm, ok := tr.masks[i].(*cutMask); ok {
			if off == 0 {
				cm.lo.seen, cm.hi.seen = 0, 0
			}
			st.saved[n] = *cm
		}
	}
	ok, err := tr.maskedBlocks(off, k, dst)
	if !ok || err != nil {
		for n, i := range mp.inputs {
			if cm, isCut := tr.masks[i].(*cutMask); isCut {
				*cm = st.saved[n]
			}
		}
	}
	return ok, err
}

func (tr *tensorRun) maskedBlocks(off int64, k int, dst []byte) (bool, error) {
	p, e := tr.fused, tr.e
	mp, st := p.masked, &e.masked
	size := p.format.Size()
	for s := 0; s < k; s += maskedBlock {
		m := min(maskedBlock, k-s)
		at := off + int64(s)
		base, err := rawAt(e.r.p.base, tr.bt, at, m, e.rawBase)
		if err != nil {
			return false, err
		}
		for n, i := range mp.inputs {
			d := tr.rd[i].(denseReader)
			if st.raws[n], err = rawAt(d.m, d.t, at, m, e.rawIn[n]); err != nil {
				return false, err
			}
		}
		if !tr.maskedBlock(at, m, base, dst[s*size:(s+m)*size]) {
			return false, nil
		}
	}
	return true, nil
}

// maskedBlock merges the block of m elements at element at. Each range
// is first merged as if every cut decided the elements on its key in it as
// it decided the last one before (the kernel then reads the inputs from
// memory while it computes); counted afterwards, from the cache, a cut
// that stopped keeping them inside the range has the range split where it
// did and merged again.
func (tr *tensorRun) maskedBlock(at int64, m int, base, dst []byte) bool {
	for from := 0; from < m; {
		to := m
		if !tr.mergeRange(at, from, to, base, dst, false) {
			return false
		}
		if !tr.countRange(from, to) {
			to = tr.maskedRange(from, m)
			if !tr.mergeRange(at, from, to, base, dst, true) {
				return false
			}
		}
		maskedRanges.Add(1)
		tr.maskedAdvance()
		from = to
	}
	return true
}

// mergeRange runs MergeMasked over elements [from, to) of the block, each
// cut's window from its counts over the range (exact) or from the last
// element before it.
func (tr *tensorRun) mergeRange(at int64, from, to int, base, dst []byte, exact bool) bool {
	p, st := tr.fused, &tr.e.masked
	mp := p.masked
	size := p.format.Size()
	ins := st.ins[:len(mp.inputs)]
	for n, i := range mp.inputs {
		ins[n] = tr.maskedInput(n, i, at+int64(from), from, to, exact)
	}
	return kernel.MergeMasked(p.format, dst[from*size:to*size], base[from*size:to*size], ins, mp.merge, st.scratch)
}

// countRange counts, for every cut that counts, its elements below and on
// its key in elements [from, to) of the block (into st.counts), and
// reports whether each cut decided those on its key alike throughout.
func (tr *tensorRun) countRange(from, to int) bool {
	p, st := tr.fused, &tr.e.masked
	sz := p.format.Size()
	alike := true
	for n, i := range p.masked.inputs {
		cm, ok := tr.masks[i].(*cutMask)
		if !ok {
			continue
		}
		for c, cs := range []*cutState{&cm.lo, &cm.hi} {
			if cs.stateless() && cm.check[c] == nil {
				continue
			}
			b, e := formatKeys(p.format).cutKeys(cs.c.key)
			below, eq := kernel.CountKeys(p.format, st.raws[n][from*sz:to*sz], b, e)
			st.counts[n][c] = cutCount{int64(below), int64(eq)}
			if !cs.stateless() && cs.seen < cs.c.eqAbove && cs.seen+int64(eq) > cs.c.eqAbove {
				alike = false
			}
		}
	}
	return alike
}

// maskedRange returns the end of the range from from (at most to m) in
// which every cut decides the elements on its key alike, and leaves in
// st.counts, for each cut that counts (a positional one, or one to check),
// its elements below and on its key in the range.
func (tr *tensorRun) maskedRange(from, m int) int {
	p, st := tr.fused, &tr.e.masked
	sz := p.format.Size()
	to := m
	for again := true; again; {
		again = false
		for n, i := range p.masked.inputs {
			cm, ok := tr.masks[i].(*cutMask)
			if !ok {
				continue
			}
			for c, cs := range []*cutState{&cm.lo, &cm.hi} {
				if cs.stateless() && cm.check[c] == nil {
					continue
				}
				b, e := formatKeys(p.format).cutKeys(cs.c.key)
				raw := st.raws[n][from*sz : to*sz]
				below, eq := kernel.CountKeys(p.format, raw, b, e)
				st.counts[n][c] = cutCount{int64(below), int64(eq)}
				if cs.stateless() || cs.seen+int64(eq) <= cs.c.eqAbove || cs.seen >= cs.c.eqAbove {
					continue
				}
				// The cut keeps the first eqAbove − seen of them: the range
				// ends after the last, and every count is taken again.
				to = from + 1 + nthKey(p.format, raw, e, int(cs.c.eqAbove-cs.seen))
				again = true
			}
		}
	}
	return to
}

// nthKey returns the index of the n-th (from 1) element of raw whose key is
// key.
func nthKey(f kernel.Format, raw []byte, key uint32, n int) int {
	sz := f.Size()
	for j := 0; j+sz <= len(raw); j += sz {
		_, eq := kernel.CountKeys(f, raw[j:j+sz], 0, key)
		if n -= eq; n == 0 {
			return j / sz
		}
	}
	return len(raw)/sz - 1
}

// maskedInput is merged input n's (plan input i) MaskedInput for elements
// [from, to) of the block, the first of them element e of the tensor: a
// cut's window from its counts over the range when exact, else from its
// count so far.
func (tr *tensorRun) maskedInput(n, i int, e int64, from, to int, exact bool) kernel.MaskedInput {
	p, st := tr.fused, &tr.e.masked
	sz := p.format.Size()
	in := kernel.MaskedInput{Src: st.raws[n][from*sz : to*sz], W: p.masked.w[n], R: tr.resc[i]}
	switch m := tr.masks[i].(type) {
	case randomMask:
		keep := keep16(m.p)
		switch {
		case m.d.scheme == 2 && keep < 1<<16 && e%4 == 0:
			in.Kind, in.Keep, in.Z = kernel.MaskDARE2, keep, m.d.key+(uint64(e)>>2+1)*golden
		case m.d.scheme == 2 && keep < 1<<16:
			in.Kind, in.Words = kernel.MaskWords, tr.wordsOf(n, to-from)
			kernel.DAREMask2(f32Of(in.Words), m.d.key, e, keep)
		case m.d.scheme == 1:
			in.Kind, in.Words = kernel.MaskWords, tr.wordsOf(n, to-from)
			dareMask(f32Of(in.Words), m.d.key, e, keepBelow(m.p))
		}
	case *cutMask:
		d := formatKeys(p.format)
		lo, hi := m.lo.windowFrom(d, st.counts[n][0].eq), m.hi.windowFrom(d, st.counts[n][1].eq)
		if !exact {
			lo, hi = m.lo.windowFrom(d, 0), m.hi.windowFrom(d, 0)
		}
		in.Kind, in.Lo, in.Hi = kernel.MaskWindow, lo, hi
	}
	return in
}

// wordsOf returns n ones-filled mask words of merged input k's scratch.
func (tr *tensorRun) wordsOf(k, n int) []uint32 {
	st := &tr.e.masked
	if cap(st.words[k]) < maskedBlock {
		st.words[k] = make([]uint32, maskedBlock)
	}
	w := st.words[k][:n]
	for j := range w {
		w[j] = math.MaxUint32
	}
	return w
}

// f32Of views mask words as float32s, for the DARE kernels to clear.
func f32Of(w []uint32) []float32 {
	if len(w) == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(w))), len(w))
}

// windowFrom returns the key bound, in key domain d, from which the cut
// keeps the elements of a range it decides alike, eq of them on its key:
// every element whose key is at least the bound is above the cut. With eq
// 0 it is the bound the next element on the key would get.
func (s *cutState) windowFrom(d formatKeys, eq int64) uint32 {
	switch {
	case s.c.all:
		return 0
	case s.c.none:
		return d.keyEnd()
	case s.c.eqAbove == 0:
		return d.keyBound(int64(s.c.key) + 1)
	case s.c.eqAbove == s.c.eq:
		return d.keyBound(int64(s.c.key))
	case s.seen < s.c.eqAbove && s.seen+eq <= s.c.eqAbove:
		return d.keyBound(int64(s.c.key))
	}
	return d.keyBound(int64(s.c.key) + 1)
}

// maskedAdvance moves every cut past the range just merged: its count of
// elements on its key, and for a cut taken from trim statistics the
// elements below and on it (st.counts, from maskedRange).
func (tr *tensorRun) maskedAdvance() {
	st := &tr.e.masked
	for n, i := range tr.fused.masked.inputs {
		cm, ok := tr.masks[i].(*cutMask)
		if !ok {
			continue
		}
		for c, cs := range []*cutState{&cm.lo, &cm.hi} {
			if !cs.stateless() {
				cs.seen += st.counts[n][c].eq
			}
			if cm.check[c] != nil {
				cm.counted[c].add(st.counts[n][c])
			}
		}
	}
}

// f16Keys are the float32 magnitude keys of the 2¹⁵ half magnitude keys,
// ascending (widening is increasing in the key).
var f16Keys = func() []uint32 {
	k := make([]uint32, 1<<15)
	for h := range k {
		k[h] = kernel.F16ToF32Bits(uint16(h))
	}
	return k
}()

// formatKeys is a format's domain of masking keys (kernel.MaskedInput): the
// 16 bits without the sign for bfloat16 and half, the float32 magnitude
// key for float32.
type formatKeys kernel.Format

// keyBound maps a bound on float32 magnitude keys (keep key ≥ t) to the
// format's key domain: the number of the format's keys below t, for the
// 16-bit formats; t clamped to [0, 2³¹] for float32.
func (f formatKeys) keyBound(t int64) uint32 {
	t = min(max(t, 0), 1<<31)
	switch kernel.Format(f) {
	case kernel.BF16:
		return uint32(min((t+0xFFFF)>>16, 1<<15))
	case kernel.F16:
		return uint32(sort.Search(1<<15, func(h int) bool { return int64(f16Keys[h]) >= t }))
	}
	return uint32(t)
}

// keyEnd is the format's key bound past every key.
func (f formatKeys) keyEnd() uint32 { return f.keyBound(1 << 31) }

// cutKeys are, in the format's key domain, the bound below a float32
// magnitude key and the key equal to it (none: 0xFFFFFFFF, which no key
// equals).
func (f formatKeys) cutKeys(key uint32) (below, eq uint32) {
	below = f.keyBound(int64(key))
	switch kernel.Format(f) {
	case kernel.BF16:
		if key&0xFFFF == 0 && below < 1<<15 {
			return below, below
		}
	case kernel.F16:
		if below < 1<<15 && f16Keys[below] == key {
			return below, below
		}
	default:
		return key, key
	}
	return below, math.MaxUint32
}
