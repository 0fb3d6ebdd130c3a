package merge

import "math"

// The statistics passes over the raw deltas of one tensor.

// modelStockEps bounds the norm product in model_stock's cosine, as
// mergekit's does.
const modelStockEps = 1e-8

// gram sets the clip factors from the deltas' norms and, for model_stock,
// the interpolation ratio (per row when filter_wise) from their angles.
func (tr *tensorRun) gram() error {
	stock := tr.m.fam == famStock
	g, rows, pairs, err := tr.gramStats(stock, stock && tr.e.r.p.global.filterWise)
	if err != nil {
		return err
	}
	tr.clipFactors(diagonal(g, pairs, len(tr.rd)))
	if stock {
		tr.stockRatios(g, rows, pairs)
	}
	return nil
}

// gramStats accumulates the inner products ⟨δᵢ, δⱼ⟩ of the raw deltas: all
// pairs, or only the norms; per row as well when rowWise (each row's lanes
// starting at its first element).
func (tr *tensorRun) gramStats(all, rowWise bool) (g []float64, rows [][]float64, pairs [][2]int, err error) {
	pairs = pairList(len(tr.rd), all)
	acc := make([][8]float64, len(pairs))
	err = tr.passes(func(off int64, k int) error {
		for i := range tr.rd {
			if err := tr.loadRaw(i, off, tr.e.xs[i][:k]); err != nil {
				return err
			}
		}
		if !rowWise {
			for p, ij := range pairs {
				dotLanes(&acc[p], int(off&7), tr.e.xs[ij[0]][:k], tr.e.xs[ij[1]][:k])
			}
			return nil
		}
		c := int(tr.cols)
		for r := 0; r < k; r += c {
			stats := make([]float64, len(pairs))
			for p, ij := range pairs {
				var a [8]float64
				dotLanes(&a, 0, tr.e.xs[ij[0]][r:r+c], tr.e.xs[ij[1]][r:r+c])
				stats[p] = laneSum(&a)
			}
			rows = append(rows, stats)
		}
		return nil
	})
	g = make([]float64, len(pairs))
	for p := range pairs {
		if rowWise {
			for _, st := range rows {
				g[p] += st[p]
			}
		} else {
			g[p] = laneSum(&acc[p])
		}
	}
	return g, rows, pairs, err
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

func diagonal(g []float64, pairs [][2]int, n int) []float64 {
	out := make([]float64, n)
	for p, ij := range pairs {
		if ij[0] == ij[1] {
			out[ij[0]] = g[p]
		}
	}
	return out
}

// stockRatios sets model_stock's t = N·cos/(1+(N−1)·cos), cos the mean of
// the pairwise cosines of the (clipped) deltas, for the tensor or each row.
func (tr *tensorRun) stockRatios(g []float64, rows [][]float64, pairs [][2]int) {
	if rows == nil {
		tr.stockT = []float64{tr.stockRatio(g, pairs)}
		return
	}
	tr.stockT = make([]float64, len(rows))
	for r, st := range rows {
		tr.stockT[r] = tr.stockRatio(st, pairs)
	}
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

// slerpCoefficients computes slerp's s₀ and s₁ from θ₀ and θ₁ = θ₀ + δ as
// mergekit does: each normalised by its norm when that exceeds 1e-8; when
// |cos| > 0.9995 a linear interpolation (s₀ = 1−t, s₁ = t), otherwise
// s₀ = sin(Ω−tΩ)/sin Ω, s₁ = sin(tΩ)/sin Ω with Ω = acos(cos).
func (tr *tensorRun) slerpCoefficients() error {
	var aa, bb, ab [8]float64
	th := tr.e.theta
	err := tr.passes(func(off int64, k int) error {
		if err := tr.e.readBase(tr.bt, off, k); err != nil {
			return err
		}
		if err := tr.load(0, off, th[:k], false); err != nil {
			return err
		}
		addInto(th[:k], tr.e.base[:k])
		lane := int(off & 7)
		dotLanes(&aa, lane, tr.e.base[:k], tr.e.base[:k])
		dotLanes(&bb, lane, th[:k], th[:k])
		dotLanes(&ab, lane, tr.e.base[:k], th[:k])
		return nil
	})
	if err != nil {
		return err
	}
	unit := func(sq float64) float64 {
		if n := math.Sqrt(sq); n > 1e-8 {
			return n
		}
		return 1
	}
	t := tr.p.t
	cos := laneSum(&ab) / (unit(laneSum(&aa)) * unit(laneSum(&bb)))
	if math.Abs(cos) > 0.9995 {
		tr.s0, tr.s1 = float32(1-t), float32(t)
		return nil
	}
	omega := math.Acos(cos)
	sin := math.Sin(omega)
	ot := float64(omega * t)
	tr.s0, tr.s1 = float32(math.Sin(omega-ot)/sin), float32(math.Sin(ot)/sin)
	return nil
}
