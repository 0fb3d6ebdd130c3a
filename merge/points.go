package merge

import "math"

// The spherical methods (nuslerp, multislerp, karcher) treat each input's
// tensor as a point: θᵢ = θ₀ + δᵢ, rounded to float32, when they combine
// the models themselves (karcher always; nuslerp and multislerp without
// base_model), δᵢ when they combine task vectors beside a base. karcher
// also takes the base θ₀ as one more point after the inputs when the
// recipe names a base it does not list, as mergekit appends it. Their
// statistics are the points' inner products in float64 (a Gram matrix,
// the same lanes as every reduction: kernels_reduce.go); their output is a
// weighted sum of the points, each product rounded to float32 before it
// is added, from +0 in point order.

// points says which vectors a method's points are.
type points struct {
	abs   bool // θᵢ = θ₀ + xᵢ, not xᵢ
	extra bool // θ₀ is a point after the inputs
}

// count is the number of points of a run.
func (ps points) count(tr *tensorRun) int {
	if ps.extra {
		return len(tr.rd) + 1
	}
	return len(tr.rd)
}

// load reads the points' chunk at off, k elements, into the engine's
// buffers (the base's for θ₀) and returns them in point order, in dst.
func (ps points) load(tr *tensorRun, off int64, k int, dst [][]float32) ([][]float32, error) {
	base, err := tr.readBase(off, k)
	if err != nil {
		return nil, err
	}
	dst = dst[:0]
	for i := range tr.rd {
		x := tr.e.xs[i][:k]
		if err := tr.load(i, off, x, false); err != nil {
			return nil, err
		}
		if ps.abs {
			addInto(x, base)
		}
		dst = append(dst, x)
	}
	if ps.extra {
		dst = append(dst, base)
	}
	return dst, nil
}

// gram returns the points' inner products over the tensor: g[i][j] =
// ⟨vᵢ, vⱼ⟩, element e in lane e mod 8 (dotLanes, laneSum).
func (ps points) gram(tr *tensorRun) ([][]float64, error) {
	n := ps.count(tr)
	acc := make([][8]float64, n*n)
	var vs [][]float32
	err := tr.passes(func(off int64, k int) error {
		var err error
		if vs, err = ps.load(tr, off, k, vs); err != nil {
			return err
		}
		for i := range n {
			for j := i; j < n; j++ {
				dotLanes(&acc[i*n+j], int(off&7), vs[i], vs[j])
			}
		}
		return nil
	})
	g := make([][]float64, n)
	for i := range g {
		g[i] = make([]float64, n)
		for j := range n {
			g[i][j] = laneSum(&acc[min(i, j)*n+max(i, j)])
		}
	}
	return g, err
}

// sum is the combiner out = Σ cᵢ·vᵢ over the points (each cᵢ rounded to
// float32), plus θ₀ when the points are deltas: the task-vector sum or
// linear's soup, both of which the fused path runs, or with θ₀ as a point
// a soup with θ₀ after the inputs.
func (ps points) sum(c []float64) combiner {
	w := toF32(c)
	switch {
	case !ps.abs:
		return &sum{w: w, div: 1, lambda: 1}
	case ps.extra:
		return &soupBase{w: w[:len(w)-1], wb: w[len(w)-1]}
	}
	return &soup{w: w}
}

// soupBase is out = Σ wᵢ·(base + xᵢ) + wb·base, from +0 in that order.
type soupBase struct {
	w  []float32
	wb float32
}

func (s *soupBase) combine(c *chunk) {
	clear(c.acc)
	for i, x := range c.xs {
		addInto(x, c.base)
		axpy(c.acc, s.w[i], x)
	}
	axpy(c.acc, s.wb, c.base)
	copy(c.out, c.acc)
}

// quad is aᵀ·g·b, summed over i then j in order, each product rounded
// (no fused multiply-add: float64 products of float64s are not exact).
func quad(g [][]float64, a, b []float64) float64 {
	var s float64
	for i := range a {
		for j := range b {
			s += float64(float64(a[i]*g[i][j]) * b[j])
		}
	}
	return s
}

// norm2 is √(aᵀ·g·a), 0 where rounding makes the square negative.
func norm2(g [][]float64, a []float64) float64 { return math.Sqrt(max(quad(g, a, a), 0)) }
