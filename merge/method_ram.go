package merge

import "math"

// Reinforced Agent Merging (RAM, arXiv 2601.13572), as mergekit's ram and
// ramplus_tl: per element, the deltas that matter are those with
// |δᵢ| > ε; where only one matters it is taken whole, where several do
// their mean, so an update only one model made is not diluted by the
// models that left the element alone. ramplus_tl scales each model's
// lone updates by λᵢ = 1 + r·clamp(ρᵢ, 0, α), ρᵢ the ratio of its shared
// to its lone updates over the tensor (shared / max(lone, ε)).

func init() {
	pEps := param{kind: pNumber, def: 1e-5, rangeOK: nonNegative}
	register(method{
		name:      "ram",
		params:    map[string]param{"epsilon": pEps, "clip": pClip},
		minModels: 1,
		plan:      eachTensor(func(t *tensorScope) (*tensorOp, error) { return planRAM(t, false) }),
	})
	register(method{
		name: "ramplus_tl",
		params: map[string]param{"epsilon": pEps, "r": {kind: pNumber, def: 0.1}, "alpha": {kind: pNumber, def: 0.2},
			"clip": pClip},
		minModels: 1,
		plan:      eachTensor(func(t *tensorScope) (*tensorOp, error) { return planRAM(t, true) }),
	})
}

func planRAM(t *tensorScope, plus bool) (*tensorOp, error) {
	eps, err := t.number("epsilon")
	if err != nil {
		return nil, err
	}
	op := &tensorOp{}
	if op.clip, err = t.clipParam(); err != nil {
		return nil, err
	}
	c := &ram{eps: float32(eps), lone: make([]float32, len(t.inputs))}
	for i := range c.lone {
		c.lone[i] = 1
	}
	if !plus {
		op.combine = c
		return op, nil
	}
	r, err := t.number("r")
	if err != nil {
		return nil, err
	}
	alpha, err := t.number("alpha")
	op.stats = func(tr *tensorRun) (combiner, error) { return ramPlusScales(tr, c, eps, r, alpha) }
	return op, err
}

// ram is out = base + m per element, with the deltas that matter
// (|xᵢ| > ε, ε rounded to float32): m = float32(lone[i]·xᵢ) when only
// input i's matters, m = (Σ xᵢ)/c in float32, summed from +0 in input
// order, when c > 1 do, m = 0 when none does. The loop a kernel.RAM
// would run.
type ram struct {
	eps  float32
	lone []float32 // ramplus_tl's λᵢ; 1 for ram
}

func (m *ram) combine(c *chunk) {
	out, base := c.out, c.base[:len(c.out)]
	for j := range out {
		var s float32
		n, last := 0, 0
		for i, x := range c.xs {
			if abs32(x[j]) > m.eps {
				s += x[j]
				n, last = n+1, i
			}
		}
		switch {
		case n == 1:
			s = float32(m.lone[last] * c.xs[last][j])
		case n > 1:
			s /= float32(n)
		}
		out[j] = base[j] + s
	}
}

// ramPlusScales counts, for each input, its elements that matter alone
// and those that matter with others', over the tensor, and returns the
// combiner with its λᵢ = 1 + r·clamp(shared/max(lone, ε), 0, α), in
// float64.
func ramPlusScales(tr *tensorRun, plain *ram, eps, r, alpha float64) (combiner, error) {
	n := len(tr.rd)
	c := &ram{eps: plain.eps, lone: make([]float32, n)}
	lone, shared := make([]int64, n), make([]int64, n)
	xs := tr.e.xs
	err := tr.passes(func(off int64, k int) error {
		for i := range n {
			if err := tr.load(i, off, xs[i][:k], false); err != nil {
				return err
			}
		}
		for j := range k {
			cnt := 0
			for i := range n {
				if abs32(xs[i][j]) > c.eps {
					cnt++
				}
			}
			for i := range n {
				switch {
				case abs32(xs[i][j]) <= c.eps:
				case cnt == 1:
					lone[i]++
				default:
					shared[i]++
				}
			}
		}
		return nil
	})
	for i := range n {
		rho := float64(shared[i]) / math.Max(float64(lone[i]), eps)
		c.lone[i] = float32(1 + float64(r*min(max(rho, 0), alpha)))
	}
	return c, err
}
