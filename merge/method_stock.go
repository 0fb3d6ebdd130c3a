package merge

import "math"

// model_stock (Jang et al., 2024) moves from the base toward the mean of
// the deltas by t = N·cos/(1+(N−1)·cos), cos the mean pairwise cosine of
// the (clipped) deltas: for the tensor, or per row when filter_wise.

// modelStockEps bounds the norm product in model_stock's cosine, as
// mergekit's does.
const modelStockEps = 1e-8

func init() {
	register(method{
		name: "model_stock",
		params: map[string]param{
			"filter_wise": {kind: pBool, def: false, global: true}, "clip": pClip},
		minModels: 2,
		plan: func(s *mergeScope) (tensorPlanner, error) {
			rowWise := s.flag("filter_wise")
			return func(t *tensorScope) (*tensorOp, error) {
				clip, err := t.clipParam()
				op := &tensorOp{clip: clip, gram: gramPairs, rows: rowWise, stats: stockStats}
				if rowWise {
					op.gram = gramRows
				}
				return op, err
			}, nil
		},
	})
}

// stockStats computes t from the inner products the gram pass took: one
// t (for the tensor, or its one row) gives a sum over the base weighted
// 1/N; t per row, a sum per row.
func stockStats(tr *tensorRun) (combiner, error) {
	g := tr.gram
	t := []float64{tr.stockRatio(g.g, g.pairs)}
	if g.rows != nil {
		t = make([]float64, len(g.rows))
		for r, st := range g.rows {
			t[r] = tr.stockRatio(st, g.pairs)
		}
	}
	even := evenSum(len(tr.rd), 0)
	if len(t) == 1 {
		even.lambda = float32(t[0])
		return even, nil
	}
	return &rowSum{w: even.w, t: t}, nil
}

// stockRatio is one t. Where the denominator vanishes (the deltas cancel
// out on average) mergekit divides by zero; we keep the base (t = 0).
func (tr *tensorRun) stockRatio(g []float64, pairs [][2]int) float64 {
	n := len(tr.rd)
	sq := diagonal(g, pairs, n)
	c := make([]float64, n)
	for i := range c {
		c[i] = float64(tr.clip[i])
	}
	var sum float64
	count := 0
	for p, ij := range pairs {
		i, j := ij[0], ij[1]
		if i == j {
			continue
		}
		norms := max(float64(math.Sqrt(float64(c[i]*c[i])*sq[i])*math.Sqrt(float64(c[j]*c[j])*sq[j])), modelStockEps)
		cos := float64(float64(c[i]*c[j])*g[p]) / norms
		sum += max(-1, min(1, cos))
		count++
	}
	cos := sum / float64(count)
	den := 1 + float64(float64(n-1)*cos)
	if den < 1e-12 {
		return 0
	}
	return float64(float64(n)*cos) / den
}

// rowSum is out = base + tᵣ·Σ wᵢxᵢ, tᵣ for each row r.
type rowSum struct {
	w []float32
	t []float64
}

func (s *rowSum) combine(c *chunk) {
	clear(c.acc)
	for i, x := range c.xs {
		axpy(c.acc, s.w[i], x)
	}
	n := int(c.cols)
	for r := 0; r < len(c.out); r += n {
		row := int((c.off + int64(r)) / c.cols)
		addScaled(c.out[r:r+n], c.base[r:r+n], float32(s.t[row]), c.acc[r:r+n])
	}
}
