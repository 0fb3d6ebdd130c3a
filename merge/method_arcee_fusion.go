package merge

import "math"

// arcee_fusion is mergekit's (Arcee's): the one model's delta is kept only
// where it matters most. Element e of row r (rows: the last dimension)
// has importance |δₑ|·KLᵣ, KLᵣ = Σⱼ pⱼ·log(pⱼ/qⱼ) over the row with
// p = softmax(θ₁'s row) + 1e-8 and q = softmax(θ₀'s row) + 1e-8, in
// float64 (detmath.go's exp and log, summed in element order, never below
// 0), the importance rounded to float32; the threshold is
// median + 1.5·(Q₃ − Q₁) of the importances over the tensor, Q the value
// at rank ⌊q·(N−1)⌋ in ascending order (select.go's histograms); out =
// θ₀ + δ where the importance is at least the threshold, θ₀ elsewhere.
// mergekit takes its quantiles from a random sample of 10⁶ elements in a
// larger tensor; we take them exactly, so the output does not depend on
// a random draw.

func init() {
	register(method{
		name:      "arcee_fusion",
		params:    map[string]param{"clip": pClip},
		minModels: 1,
		maxModels: 1,
		plan: eachTensor(func(t *tensorScope) (*tensorOp, error) {
			clip, err := t.clipParam()
			return &tensorOp{clip: clip, rows: true, stats: fusionStats}, err
		}),
	})
}

// fusionStats takes each row's KL and the tensor's least importance in one
// pass, then the quantiles in two passes of histograms each.
func fusionStats(tr *tensorRun) (combiner, error) {
	cols := int(tr.cols)
	f := &fusionMask{cols: tr.cols}
	ea, eb := make([]float64, cols), make([]float64, cols)
	least := float32(math.Inf(1))
	x, v := tr.e.xs[0], tr.e.tmp
	err := tr.passes(func(off int64, k int) error {
		base, err := tr.readBase(off, k)
		if err == nil {
			err = tr.load(0, off, x[:k], false)
		}
		if err != nil {
			return err
		}
		addInto(x[:k], base) // θ₁
		for r := 0; r < k; r += cols {
			f.kl = append(f.kl, fusionKL(x[r:r+cols], base[r:r+cols], ea, eb))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	pass := func(fn func([]float32)) error {
		return tr.passes(func(off int64, k int) error {
			err := tr.load(0, off, x[:k], false)
			f.importance(off, x[:k], v[:k])
			for _, i := range v[:k] {
				least = min(least, i)
			}
			fn(v[:k])
			return err
		})
	}
	high := tr.e.cuts.highOf(pass)
	n := tr.n
	rank := func(q float64) int64 { return int64(q * float64(n-1)) }
	quart, err := tr.e.cuts.find(n, []int64{rank(0.25), rank(0.75)}, nil, high, tr.e.cuts.lowOf(pass))
	if err != nil {
		return nil, err
	}
	mid, err := tr.e.cuts.find(n, []int64{rank(0.5)}, nil, high, tr.e.cuts.lowOf(pass))
	value := func(c cut) float64 {
		if c.all { // rank 0: the least
			return float64(least)
		}
		return float64(math.Float32frombits(c.key))
	}
	f.thr = value(mid[0]) + float64(1.5*(value(quart[1])-value(quart[0])))
	return f, err
}

// fusionKL is KL(p‖q) for one row of θ₁ (a) and θ₀ (b); ea and eb are
// scratch of the row's length.
func fusionKL(a, b []float32, ea, eb []float64) float64 {
	ma, mb := float64(a[0]), float64(b[0])
	for j := range a {
		ma, mb = math.Max(ma, float64(a[j])), math.Max(mb, float64(b[j]))
	}
	var sa, sb, kl float64
	for j := range a {
		ea[j], eb[j] = dExp(float64(a[j])-ma), dExp(float64(b[j])-mb)
		sa, sb = sa+ea[j], sb+eb[j]
	}
	for j := range a {
		p, q := ea[j]/sa+1e-8, eb[j]/sb+1e-8
		kl += float64(p * dLog(p/q))
	}
	return math.Max(kl, 0)
}

// fusionMask is out = base + δ where δ's importance reaches the
// threshold, base + 0 elsewhere: the loop a kernel.MaskBelow would run.
type fusionMask struct {
	kl   []float64 // per row
	thr  float64
	cols int64
}

// importance writes the importances of δ's elements from off into v.
func (f *fusionMask) importance(off int64, x, v []float32) {
	n := int(f.cols)
	for r := 0; r < len(x); r += n {
		kl := f.kl[(off+int64(r))/f.cols]
		for j := r; j < r+n; j++ {
			v[j] = float32(float64(abs32(x[j])) * kl)
		}
	}
}

func (f *fusionMask) combine(c *chunk) {
	x := c.xs[0]
	f.importance(c.off, x, c.tmp)
	for j, i := range c.tmp {
		v := x[j]
		if float64(i) < f.thr {
			v = 0
		}
		c.out[j] = c.base[j] + v
	}
}
