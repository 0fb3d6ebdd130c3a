package merge

import (
	"context"
	"slices"
)

// selectKrum picks the inputs Krum keeps (Blanchard et al., 2017), over the
// whole model: the squared distance between two deltas is summed over every
// float tensor (after clipping); input i's score is the sum of its n−f−2
// smallest distances to the others; the m inputs of lowest score (ties to
// the earlier input) are averaged. It reads every delta once before the
// merge.
func (p *plan) selectKrum(ctx context.Context) error {
	n := len(p.inputs)
	dist := make([]float64, n*n)
	e := newEngine(&run{p: p, workers: 1})
	for _, name := range p.base.Names() {
		if err := ctx.Err(); err != nil {
			return err
		}
		bt, _ := p.base.Tensor(name)
		if !bt.DType.IsFloat() {
			continue
		}
		if err := addDistances(e, bt, dist); err != nil {
			return err
		}
	}
	scores := make([]float64, n)
	for i := range n {
		var ds []float64
		for k := range n {
			if k != i {
				ds = append(ds, dist[i*n+k])
			}
		}
		slices.Sort(ds)
		for _, d := range ds[:n-p.global.f-2] {
			scores[i] += d
		}
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmpFloat(scores[a], scores[b]) })
	p.keep = make([]bool, n)
	for _, i := range order[:p.global.m] {
		p.keep[i] = true
	}
	return nil
}

// addDistances adds one tensor's ‖cᵢδᵢ − cₖδₖ‖² to dist.
func addDistances(e *engine, bt Tensor, dist []float64) error {
	tr, err := e.newRun(bt)
	if err != nil {
		return err
	}
	g, _, pairs, err := tr.gramStats(true, false)
	if err != nil {
		return err
	}
	n := len(tr.rd)
	sq := diagonal(g, pairs, n)
	tr.clipFactors(sq)
	for p, ik := range pairs {
		i, k := ik[0], ik[1]
		if i == k {
			continue
		}
		ci, ck := float64(tr.clip[i]), float64(tr.clip[k])
		d := float64(float64(ci*ci)*sq[i]) + float64(float64(ck*ck)*sq[k]) - float64(2*float64(ci*ck)*g[p])
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
