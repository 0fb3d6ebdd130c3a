package merge

import (
	"context"
	"fmt"
	"slices"
)

// krum is (multi-)Krum (Blanchard et al., 2017): θ₀ + λ·mean of the m
// deltas of lowest Krum score, chosen over the whole model before the
// merge, so a few broken or hostile deltas are left out.

// krumCounts are f (default ⌊(n−3)/2⌋) and m (default 1).
func krumCounts(s *mergeScope) (f, m int) {
	f, m = max(0, (len(s.inputs)-3)/2), 1
	if v, ok := s.number("f", -1); ok {
		f = int(v)
	}
	if v, ok := s.number("m", -1); ok {
		m = int(v)
	}
	return f, m
}

func init() {
	register(method{
		name: "krum",
		params: map[string]param{
			"f": {kind: pInt, global: true, rangeOK: nonNegative}, "m": {kind: pInt, def: 1.0, global: true, rangeOK: positive},
			"lambda": pLambda, "clip": pClip},
		minModels: 1,
		plan:      planKrum,
		choose:    chooseKrum,
	})
}

// planKrum checks f and m against the number of models: n ≥ 2f + 3 and
// m ≤ n − f. The plan it makes is made again for the m models chosen
// (chooseKrum), each weighted 1/m.
func planKrum(s *mergeScope) (tensorPlanner, error) {
	n := len(s.inputs)
	f, m := krumCounts(s)
	if n < 2*f+3 || m > n-f {
		return nil, fmt.Errorf("%w: krum with f = %d needs at least %d models (has %d), and m = %d at most n − f", ErrRecipe, f, 2*f+3, n, m)
	}
	return func(t *tensorScope) (*tensorOp, error) {
		lambda, err := t.number("lambda")
		if err != nil {
			return nil, err
		}
		clip, err := t.clipParam()
		return &tensorOp{clip: clip, combine: evenSum(len(t.inputs), float32(lambda))}, err
	}, nil
}

// chooseKrum picks the inputs Krum keeps, over the whole model: the
// squared distance between two deltas is summed over every float tensor
// (after clipping); input i's score is the sum of its n−f−2 smallest
// distances to the others; the m inputs of lowest score (ties to the
// earlier input) are kept. It reads every delta once.
func chooseKrum(ctx context.Context, p *plan) ([]bool, error) {
	n := len(p.inputs)
	dist := make([]float64, n*n)
	e := newEngine(&run{p: p, workers: 1})
	for _, name := range p.base.Names() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		bt, _ := p.base.Tensor(name)
		if !bt.DType.IsFloat() {
			continue
		}
		if err := addDistances(e, bt, dist); err != nil {
			return nil, err
		}
	}
	f, m := krumCounts(&mergeScope{r: p.recipe, inputs: p.inputs})
	scores := make([]float64, n)
	for i := range n {
		var ds []float64
		for k := range n {
			if k != i {
				ds = append(ds, dist[i*n+k])
			}
		}
		slices.Sort(ds)
		for _, d := range ds[:n-f-2] {
			scores[i] += d
		}
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmpFloat(scores[a], scores[b]) })
	keep := make([]bool, n)
	for _, i := range order[:m] {
		keep[i] = true
	}
	return keep, nil
}

// addDistances adds one tensor's ‖cᵢδᵢ − cₖδₖ‖² to dist.
func addDistances(e *engine, bt Tensor, dist []float64) error {
	tr, err := e.newRun(bt)
	if err != nil {
		return err
	}
	g, err := tr.gramStats(true, false)
	if err != nil {
		return err
	}
	n := len(tr.rd)
	sq := g.sq(n)
	tr.clipFactors(sq)
	for p, ik := range g.pairs {
		i, k := ik[0], ik[1]
		if i == k {
			continue
		}
		ci, ck := float64(tr.clip[i]), float64(tr.clip[k])
		d := float64(float64(ci*ci)*sq[i]) + float64(float64(ck*ck)*sq[k]) - float64(2*float64(ci*ck)*g.g[p])
		dist[i*n+k] += d
		dist[k*n+i] += d
	}
	return nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
