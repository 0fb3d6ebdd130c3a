package merge

// The combining pass, and the combiners several methods share: the
// weighted sum over the base and the TIES sign election.

// combine computes e.out[:k] for the chunk at off: the inputs' chunks are
// read, clipped, masked and rescaled, then combined by the tensor's
// combiner.
func (tr *tensorRun) combine(off int64, k int) error {
	e := tr.e
	if err := e.readBase(tr.bt, off, k); err != nil {
		return err
	}
	xs := e.view[:0]
	for i := range tr.rd {
		x := e.xs[i][:k]
		if err := tr.load(i, off, x, true); err != nil {
			return err
		}
		xs = append(xs, x)
	}
	e.view = xs
	c := &e.ck
	*c = chunk{off: off, cols: tr.cols, base: e.base[:k], xs: xs, out: e.out[:k], acc: e.acc[:k], tmp: e.tmp[:k]}
	tr.comb.combine(c)
	return nil
}

// sum is out = base + λ·(Σ wᵢxᵢ)/div, the sum from +0 in input order
// (div 1: no division).
type sum struct {
	w           []float32
	div, lambda float32
}

// newSum is the task-vector sum with the recipe's weights: divided by
// Σ wᵢ (in float64, rounded once) when normalize, unless |Σ wᵢ| < 1e-8 as
// mergekit does.
func newSum(w []float64, normalize bool, lambda float64) *sum {
	s := &sum{w: toF32(w), div: 1, lambda: float32(lambda)}
	if div := sumOf(w); normalize && (div > 1e-8 || div < -1e-8) {
		s.div = float32(div)
	}
	return s
}

// evenSum is out = base + λ·(Σ xᵢ)/n, each input weighted 1/n.
func evenSum(n int, lambda float32) *sum {
	w := make([]float32, n)
	for i := range w {
		w[i] = float32(1 / float64(n))
	}
	return &sum{w: w, div: 1, lambda: lambda}
}

func (s *sum) combine(c *chunk) {
	clear(c.acc)
	for i, x := range c.xs {
		axpy(c.acc, s.w[i], x)
	}
	if s.div != 1 {
		divBy(c.acc, s.div)
	}
	addScaled(c.out, c.base, s.lambda, c.acc)
}

func (s *sum) fusedSum() fusedSum { return fusedSum{w: s.w, div: s.div, lambda: s.lambda} }

// sumOf is Σ v in float64, in order.
func sumOf(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s
}

// ties elects a sign per element and takes the mean of the agreeing
// values (kernels_ties.go): mergekit's weighted election, or the paper's.
type ties struct {
	w         []float32
	lambda    float32
	normalize bool
	paper     bool
}

func (t *ties) combine(c *chunk) {
	if t.paper {
		tiesPaper(c.out, c.base, c.xs, t.w, t.lambda, t.normalize)
	} else {
		tiesWeighted(c.out, c.base, c.xs, t.w, t.lambda, t.normalize)
	}
}
