package merge

import "math"

// sce (Select, Calculate, Erase: Wan et al., 2024, arXiv 2408.07990), as
// mergekit's. Select: when select_topk < 1, only the k elements whose
// deltas vary most across the models are kept (of every delta), k =
// ⌊nonzero·select_topk⌋, nonzero the elements whose variance is not 0;
// the variance is taken in float64 (the mean, then the mean squared
// deviation, inputs in order) and ranked rounded to float32, ties to the
// element that comes first (select.go's cut). Calculate: model i weighs
// wᵢ = mean(δᵢ²)/Σⱼ mean(δⱼ²) over its selected delta (1/N each when the
// sum is below 1e-6). Erase: per element, the sign of Σ δᵢ is elected
// (+ when it is ≥ 0) and out = θ₀ + Σ wᵢδᵢ / max(Σ wᵢ, 1e-6) over the δᵢ
// of that sign.

func init() {
	register(method{
		name: "sce",
		params: map[string]param{"select_topk": {kind: pNumber, def: 1.0}, "int8_mask": pInt8Mask,
			"clip": pClip},
		minModels: 1,
		plan: eachTensor(func(t *tensorScope) (*tensorOp, error) {
			topk, err := t.number("select_topk")
			if err != nil {
				return nil, err
			}
			clip, err := t.clipParam()
			return &tensorOp{clip: clip, stats: func(tr *tensorRun) (combiner, error) { return sceStats(tr, topk) }}, err
		}),
	})
}

// sceVar is the inputs' variance at element j, rounded to float32.
func sceVar(xs [][]float32, j int) float32 {
	var mean, v float64
	for _, x := range xs {
		mean += float64(x[j])
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		d := float64(x[j]) - mean
		v += float64(d * d)
	}
	return float32(v / float64(len(xs)))
}

// sceLoad reads every input's chunk at off and, when v is not nil, the
// variance of each element into v.
func sceLoad(tr *tensorRun, off int64, k int, v []float32) error {
	for i := range tr.rd {
		if err := tr.load(i, off, tr.e.xs[i][:k], false); err != nil {
			return err
		}
	}
	for j := range v[:min(k, len(v))] {
		v[j] = sceVar(tr.e.xs, j)
	}
	return nil
}

// sceStats selects (one pass to count the elements of non-zero variance,
// two to find the cut), then weighs the models (one more).
func sceStats(tr *tensorRun, topk float64) (combiner, error) {
	sel := cut{all: true}
	v := tr.e.tmp
	if topk < 1 {
		var nonzero int64
		err := tr.passes(func(off int64, k int) error {
			err := sceLoad(tr, off, k, v)
			for _, x := range v[:k] {
				if x != 0 {
					nonzero++
				}
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		keep := max(0, int64(float64(nonzero)*topk))
		pass := func(fn func([]float32)) error {
			return tr.passes(func(off int64, k int) error {
				err := sceLoad(tr, off, k, v)
				fn(v[:k])
				return err
			})
		}
		high := tr.e.cuts.highOf(pass)
		cuts, err := tr.e.cuts.find(tr.n, []int64{tr.n - keep}, nil, high, tr.e.cuts.lowOf(pass))
		if err != nil {
			return nil, err
		}
		sel = cuts[0]
	}
	w, err := sceWeights(tr, sel)
	return &sceMerge{sel: cutState{c: sel}, w: w}, err
}

// sceWeights are the models' weights over their selected deltas: the sums
// of squares in 8 lanes (dotLanes).
func sceWeights(tr *tensorRun, sel cut) ([]float32, error) {
	n := len(tr.rd)
	acc := make([][8]float64, n)
	st := cutState{c: sel}
	xs := tr.e.xs
	err := tr.passes(func(off int64, k int) error {
		if err := sceLoad(tr, off, k, nil); err != nil {
			return err
		}
		if !sel.all {
			for j := range k {
				if !st.above(magKey(f32bits(sceVar(xs, j)))) {
					for _, x := range xs {
						x[j] = 0
					}
				}
			}
		}
		for i := range n {
			dotLanes(&acc[i], int(off&7), xs[i][:k], xs[i][:k])
		}
		return nil
	})
	means := make([]float64, n)
	for i := range n {
		means[i] = laneSum(&acc[i]) / float64(tr.n)
	}
	total := sumOf(means)
	w := make([]float32, n)
	for i := range w {
		w[i] = float32(1 / float64(n))
		if math.Abs(total) >= 1e-6 {
			w[i] = float32(means[i] / total)
		}
	}
	return w, err
}

// sceMerge is sce's erase and merge, per element: the elements the cut
// does not select are 0 in every delta; S = Σ xᵢ in float32 from +0 in
// input order elects + when S ≥ 0; over the non-zero xᵢ of the elected
// sign, num = Σ float32(wᵢ·xᵢ) and den = Σ wᵢ, and out = base +
// num/max(den, 1e-6). The loop a kernel.SCE would run (a TIES election
// on the unweighted sum, divided by the agreeing weights). The cut is
// positional: segments start from the count of the elements before them.
type sceMerge struct {
	sel cutState
	w   []float32
}

func (s *sceMerge) combine(c *chunk) {
	if c.off == 0 {
		s.sel.seen = 0
	}
	for j := range c.out {
		keep := s.sel.c.all || s.sel.above(magKey(f32bits(sceVar(c.xs, j))))
		var sum, num, den float32
		for _, x := range c.xs {
			if keep {
				sum += x[j]
			}
		}
		for i, x := range c.xs {
			if v := x[j]; keep && v != 0 && (v > 0) == (sum >= 0) {
				num += float32(s.w[i] * v)
				den += s.w[i]
			}
		}
		c.out[j] = c.base[j] + num/max(den, 1e-6)
	}
}

func (s *sceMerge) counting() bool { return !s.sel.stateless() }

func (s *sceMerge) tally() tally { return tally{s.sel.seen} }

func (s *sceMerge) guess(from, to, n int64) tally {
	return tally{s.sel.guess(from, to, n)}
}

func (s *sceMerge) same(g, a, c tally) bool { return s.sel.same(g[0], a[0], c[0]) }

func (s *sceMerge) after(t tally) positional {
	return &sceMerge{sel: cutState{c: s.sel.c, seen: t[0]}, w: s.w}
}
