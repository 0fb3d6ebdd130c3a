package merge

import "math"

// The first statistics pass over a tensor: the inner products of its raw
// deltas, which give each delta's clipping factor (its norm) and whatever
// else a method asks for (model_stock's angles, krum's distances).

// gram holds the inner products ⟨δᵢ, δⱼ⟩ of a tensor's raw deltas, i ≤ j:
// g[p] for pairs[p], over the whole tensor and, when asked, per row.
type gram struct {
	g     []float64
	rows  [][]float64 // per row, like g; nil unless asked
	pairs [][2]int
}

// gatherGram takes the inner products need asks for (at least the norms)
// in one pass and sets the clipping factors from the norms.
func (tr *tensorRun) gatherGram(need gramNeed) error {
	g, err := tr.gramStats(need != gramNorms, need == gramRows)
	if err != nil {
		return err
	}
	tr.gram = g
	tr.clipFactors(g.sq(len(tr.rd)))
	return nil
}

// gramStats accumulates the inner products of the raw deltas: all pairs,
// or only the norms; per row as well when rowWise (each row's lanes
// starting at its first element).
func (tr *tensorRun) gramStats(all, rowWise bool) (gram, error) {
	gr := gram{pairs: pairList(len(tr.rd), all)}
	acc := make([][8]float64, len(gr.pairs))
	accs := make([]*[8]float64, len(gr.pairs))
	as, bs := make([][]float32, len(gr.pairs)), make([][]float32, len(gr.pairs))
	err := tr.passes(func(off int64, k int) error {
		for i := range tr.rd {
			if err := tr.loadRaw(i, off, tr.e.xs[i][:k]); err != nil {
				return err
			}
		}
		if !rowWise {
			for p, ij := range gr.pairs {
				accs[p], as[p], bs[p] = &acc[p], tr.e.xs[ij[0]][:k], tr.e.xs[ij[1]][:k]
			}
			dotPairs(accs, int(off&7), as, bs)
			return nil
		}
		c := int(tr.cols)
		for r := 0; r < k; r += c {
			row := make([][8]float64, len(gr.pairs))
			for p, ij := range gr.pairs {
				accs[p], as[p], bs[p] = &row[p], tr.e.xs[ij[0]][r:r+c], tr.e.xs[ij[1]][r:r+c]
			}
			dotPairs(accs, 0, as, bs)
			stats := make([]float64, len(gr.pairs))
			for p := range row {
				stats[p] = laneSum(&row[p])
			}
			gr.rows = append(gr.rows, stats)
		}
		return nil
	})
	gr.g = make([]float64, len(gr.pairs))
	for p := range gr.pairs {
		if rowWise {
			for _, st := range gr.rows {
				gr.g[p] += st[p]
			}
		} else {
			gr.g[p] = laneSum(&acc[p])
		}
	}
	return gr, err
}

// loadRaw reads input i's chunk without clipping or masking.
func (tr *tensorRun) loadRaw(i int, off int64, x []float32) error {
	c := tr.clip[i]
	tr.clip[i] = 1
	err := tr.load(i, off, x, false)
	tr.clip[i] = c
	return err
}

// pairList lists the (i, j), i ≤ j, whose inner products are needed: all
// of them, or only the norms (i = j).
func pairList(n int, all bool) [][2]int {
	var out [][2]int
	for i := range n {
		for j := i; j < n; j++ {
			if all || i == j {
				out = append(out, [2]int{i, j})
			}
		}
	}
	return out
}

// sq returns each delta's squared norm ⟨δᵢ, δᵢ⟩ from g.
func (gr gram) sq(n int) []float64 { return diagonal(gr.g, gr.pairs, n) }

// diagonal returns the ⟨δᵢ, δᵢ⟩ among the products g of pairs.
func diagonal(g []float64, pairs [][2]int, n int) []float64 {
	out := make([]float64, n)
	for p, ij := range pairs {
		if ij[0] == ij[1] {
			out[ij[0]] = g[p]
		}
	}
	return out
}

// clipFactors sets each input's factor min(1, τ/‖δᵢ‖) from its squared norm.
func (tr *tensorRun) clipFactors(sq []float64) {
	tau := tr.op.clip
	for i, s := range sq {
		if norm := math.Sqrt(s); tau > 0 && norm > tau {
			tr.clip[i] = float32(tau / norm)
		}
	}
}
