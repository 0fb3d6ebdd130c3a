package merge

import (
	"github.com/potluck-hub/potluck/merge/kernel"
	"github.com/potluck-hub/potluck/safetensors"
)

// The magnitude masks: TIES keeps each delta's top ⌊density·N⌋ elements by
// magnitude (at least one); breadcrumbs drops the ⌊γ·N⌋ largest and enough
// of the smallest to keep ⌊density·N⌋. Both are cuts in the total order of
// select.go, found by histograms over the tensor, one input at a time.

var (
	magnitudeMasks = maskSpec{params: map[string]param{"density": pDensity}, plan: planMagnitude(false)}
	outlierMasks   = maskSpec{params: map[string]param{"density": pDensity, "gamma": pGamma}, plan: planMagnitude(true)}
)

// cutMasker is a tensor's magnitude masks.
type cutMasker struct {
	density []float64
	gamma   []float64 // breadcrumbs; nil for TIES
	rescale bool      // by the L1 norm ratio
}

func planMagnitude(outliers bool) func(s *tensorScope, rescale bool) (masker, error) {
	return func(s *tensorScope, rescale bool) (masker, error) {
		m := &cutMasker{rescale: rescale}
		var err error
		if m.density, err = s.perInput("density"); err != nil {
			return nil, err
		}
		if outliers {
			m.gamma, err = s.perInput("gamma")
		}
		return m, err
	}
}

func (m *cutMasker) prepare(tr *tensorRun, i int) (mask, float32, error) {
	d := m.density[i]
	if d >= 1 {
		return nil, 1, nil
	}
	cuts, checks, err := tr.findCuts(i, m.ranks(i, tr.n))
	if err != nil {
		return nil, 1, err
	}
	cm := &cutMask{i: i, lo: cutState{c: cuts[0]}, hi: cutState{c: cuts[1]}}
	if checks != nil {
		cm.check = [2]*cutCheck{checks[0], checks[1]}
	}
	if !m.rescale {
		return cm, 1, nil
	}
	resc, err := tr.l1Rescale(i, cm)
	return cm, resc, err
}

// ranks are input i's two cuts, as mergekit computes them: the top
// ⌊density·N⌋ (at least one) for TIES; for breadcrumbs the ranks
// [n_bot, N − n_top) with n_top = ⌊γ·N⌋ and n_bot = N − ⌊density·N⌋ − n_top
// (n_top reduced when that is negative).
func (m *cutMasker) ranks(i int, n int64) []int64 {
	d := m.density[i]
	if m.gamma == nil {
		target := max(1, int64(d*float64(n)))
		return []int64{n - target, n}
	}
	top := int64(m.gamma[i] * float64(n))
	bot := n - int64(d*float64(n)) - top
	if bot < 0 {
		top, bot = top+bot, 0
	}
	return []int64{bot, n - top}
}

// cutMask keeps input i's elements above cut lo and not above cut hi.
// A cut taken from trim statistics has a check: the merge pass counts the
// elements below its key and on it (counted, reset by each pass's span),
// and checkStats holds them against the check.
type cutMask struct {
	i       int
	lo, hi  cutState
	check   [2]*cutCheck // lo's and hi's; nil: not from statistics
	counted [2]cutCount
}

func (m *cutMask) apply(_ *tensorRun, off int64, x []float32) {
	if off == 0 {
		m.lo.seen, m.hi.seen = 0, 0
	}
	for c, st := range []*cutState{&m.lo, &m.hi} {
		if m.check[c] != nil {
			b, e := kernel.CountKeys(kernel.F32, f32Bytes(x), st.c.key, st.c.key)
			m.counted[c].add(cutCount{int64(b), int64(e)})
		}
	}
	magnitudeMask(x, &m.lo, &m.hi)
}

// cut is cut c: 0 for lo, 1 for hi.
func (m *cutMask) cut(c int) cut {
	if c == 0 {
		return m.lo.c
	}
	return m.hi.c
}

func (m *cutMask) counting() bool { return !m.lo.stateless() || !m.hi.stateless() }

func (m *cutMask) tally() tally { return tally{m.lo.seen, m.hi.seen} }

func (m *cutMask) guess(from, to, n int64) tally {
	return tally{m.lo.guess(from, to, n), m.hi.guess(from, to, n)}
}

func (m *cutMask) same(g, a, c tally) bool {
	return m.lo.same(g[0], a[0], c[0]) && m.hi.same(g[1], a[1], c[1])
}

func (m *cutMask) after(t tally) positional {
	return &cutMask{i: m.i, lo: cutState{c: m.lo.c, seen: t[0]}, hi: cutState{c: m.hi.c, seen: t[1]}, check: m.check}
}

// findCuts finds input i's magnitude cuts at ranks qs. With trim
// statistics for the input (a dense delta, not clipped) the high
// histogram is the statistics', and the cuts of a bfloat16 or half input
// need no read at all; each such cut records what the statistics claim of
// it, for the merge pass to check (checks, nil when none came from them).
func (tr *tensorRun) findCuts(i int, qs []int64) (cuts []cut, checks []*cutCheck, err error) {
	x := tr.e.xs[i]
	f := tr.e.cuts
	pass := func(fn func([]float32)) error {
		return tr.passes(func(off int64, k int) error {
			if err := tr.load(i, off, x[:k], false); err != nil {
				return err
			}
			fn(x[:k])
			return nil
		})
	}
	high := f.highOf(pass)
	low := f.lowOf(pass)
	// A bfloat16 or half input, not rescaled, is counted as it lies, by the
	// 15-bit magnitude key of its raw bits: one pass, unwidened. Bins from
	// the format's Inf up hold Inf and NaN: then the widening pass finds
	// the first and fails with it, so its float32 bins are never ranked.
	var exact func(bin int) uint32
	inf := 0
	dr, dense := tr.rd[i].(denseReader)
	rawF32 := false
	if dense && tr.clip[i] == 1 {
		switch dr.t.DType {
		case safetensors.BF16:
			exact, inf = func(bin int) uint32 { return uint32(bin) << 16 }, 0x7F80
		case safetensors.F16:
			exact, inf = func(bin int) uint32 { return kernel.F16ToF32Bits(uint16(bin)) }, 0x7C00
		case safetensors.F32:
			rawF32, inf = true, 0x7F80
		}
	}
	fromStats := false
	if dense && tr.clip[i] == 1 {
		if h, ok := dr.m.Stats(tr.bt.Name); ok && h.DType == dr.t.DType && h.N == tr.n && h.Finite() {
			high, fromStats = func(hi []int64) error { h.Dense(hi); return nil }, true
			statsTaken.Add(1)
		}
	}
	if rawF32 {
		// A float32 input is read as it lies for the low 16 bits of its
		// keys too: the bins were counted (or taken from statistics, whose
		// finite claim the merge pass checks), so no value is widened.
		low = func(bins []int, lo [][]int64) error {
			return tr.passes(func(off int64, k int) error {
				b, err := rawAt(dr.m, dr.t, off, k, tr.e.raw)
				if err == nil {
					histLowRaw32(lo, bins, b)
				}
				return err
			})
		}
	}
	if (exact != nil || rawF32) && !fromStats {
		hist := histRaw16
		if rawF32 {
			hist = histRaw32
		}
		high = func(hi []int64) error {
			err := tr.passes(func(off int64, k int) error {
				b, err := rawAt(dr.m, dr.t, off, k, tr.e.raw)
				if err == nil {
					hist(&f.hi4, b)
				}
				return err
			})
			bad := err == nil && nonFiniteBins(&f.hi4, inf)
			f.foldHigh(hi)
			if !bad {
				return err
			}
			clear(hi)
			err = pass(func(x []float32) { histHigh(&f.hi4, x) })
			f.foldHigh(hi)
			return err
		}
	}
	cuts, err = f.find(tr.n, qs, exact, high, low)
	if err != nil || !fromStats {
		return cuts, nil, err
	}
	checks = make([]*cutCheck, len(cuts))
	for k, c := range cuts {
		if !c.all && !c.none {
			checks[k] = &cutCheck{below: c.eqAbove + qs[k] - c.eq, eq: c.eq}
		}
	}
	return cuts, checks, nil
}
