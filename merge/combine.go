package merge

// combine computes e.out[:k] for the chunk at off: the inputs' chunks are
// read, clipped, thinned and rescaled, then combined by the method's kernel.
func (tr *tensorRun) combine(off int64, k int) error {
	e := tr.e
	if err := e.readBase(tr.bt, off, k); err != nil {
		return err
	}
	xs := make([][]float32, 0, len(tr.rd))
	w := e.w32[:0]
	for i := range tr.rd {
		if tr.e.r.p.skip(i) {
			continue
		}
		x := e.xs[i][:k]
		if err := tr.load(i, off, x, true); err != nil {
			return err
		}
		xs = append(xs, x)
		w = append(w, float32(tr.weight(i)))
	}
	base, out := e.base[:k], e.out[:k]
	lambda := float32(tr.p.lambda)
	switch tr.m.fam {
	case famLinear:
		tr.linear(xs, k)
	case famSlerp:
		th := e.theta[:k]
		copy(th, xs[0])
		addInto(th, base)
		lerp2(out, base, th, tr.s0, tr.s1)
	case famMedian:
		medianCombine(out, base, xs, lambda)
	case famTrimmed:
		trimmedCombine(out, base, xs, int(tr.p.beta*float64(len(xs))), lambda)
	case famStock:
		tr.stock(off, xs, w, k)
	default:
		if tr.m.consensus && e.r.p.global.consensusPaper {
			tiesPaper(out, base, xs, w, lambda, tr.p.normalize)
		} else if tr.m.consensus {
			tiesWeighted(out, base, xs, w, lambda, tr.p.normalize)
		} else {
			tr.weightedSum(xs, w, k, lambda)
		}
	}
	return nil
}

// weight is input i's weight in the sum: the recipe's, or the one the
// method derives (fedavg's share of the samples, krum's 1/m, model_stock's
// 1/N).
func (tr *tensorRun) weight(i int) float64 {
	g := tr.e.r.p.global
	switch tr.m.fam {
	case famFedAvg:
		var total float64
		for _, s := range g.samples {
			total += s
		}
		return g.samples[i] / total
	case famKrum:
		return 1 / float64(g.m)
	case famStock:
		return 1 / float64(len(tr.rd))
	}
	return tr.p.weight[i]
}

// weightedSum is out = base + λ·Σ wᵢxᵢ (divided by Σ wᵢ when normalize,
// unless |Σ wᵢ| < 1e-8, as mergekit does).
func (tr *tensorRun) weightedSum(xs [][]float32, w []float32, k int, lambda float32) {
	acc := tr.e.acc[:k]
	clear(acc)
	for i, x := range xs {
		axpy(acc, w[i], x)
	}
	if d := tr.sumDivisor(); d != 1 {
		divBy(acc, d)
	}
	addScaled(tr.e.out[:k], tr.e.base[:k], lambda, acc)
}

// sumDivisor is what weightedSum divides the sum by: Σ wᵢ (in float64,
// rounded once) when normalize, unless |Σ wᵢ| < 1e-8 as mergekit does; else
// 1 (dividing by 1 changes nothing).
func (tr *tensorRun) sumDivisor() float32 {
	if div := tr.weightSum(); tr.p.normalize && (div > 1e-8 || div < -1e-8) {
		return float32(div)
	}
	return 1
}

// weightSum is Σ wᵢ of the recipe's weights, in float64.
func (tr *tensorRun) weightSum() float64 {
	var sum float64
	for _, wi := range tr.p.weight {
		sum += wi
	}
	return sum
}

// linearWeight is input i's weight in the model soup: wᵢ / Σ wᵢ (in
// float64, rounded once) when normalize, else wᵢ.
func (tr *tensorRun) linearWeight(i int) float32 {
	if tr.p.normalize {
		return float32(tr.p.weight[i] / tr.weightSum())
	}
	return float32(tr.p.weight[i])
}

// linear is the model soup Σ wᵢθᵢ with θᵢ = θ₀ + δᵢ, the weights divided
// by Σ wᵢ (in float64, rounded once) when normalize.
func (tr *tensorRun) linear(xs [][]float32, k int) {
	acc, base := tr.e.acc[:k], tr.e.base[:k]
	clear(acc)
	for i, x := range xs {
		addInto(x, base)
		axpy(acc, tr.linearWeight(i), x)
	}
	copy(tr.e.out[:k], acc)
}

// stock is out = θ₀ + t·(Σ δᵢ/N), t per row when filter_wise.
func (tr *tensorRun) stock(off int64, xs [][]float32, w []float32, k int) {
	acc := tr.e.acc[:k]
	clear(acc)
	for i, x := range xs {
		axpy(acc, w[i], x)
	}
	if len(tr.stockT) == 1 {
		addScaled(tr.e.out[:k], tr.e.base[:k], float32(tr.stockT[0]), acc)
		return
	}
	c := int(tr.cols)
	for r := 0; r < k; r += c {
		row := int((off + int64(r)) / tr.cols)
		addScaled(tr.e.out[r:r+c], tr.e.base[r:r+c], float32(tr.stockT[row]), acc[r:r+c])
	}
}
