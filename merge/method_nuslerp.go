package merge

import (
	"fmt"
	"math"
)

// nuslerp is mergekit's spherical interpolation of two models, weighted:
// t = w₁/(w₀+w₁) (0.5 when |w₀+w₁| < 1e-6), between the models
// themselves, or, beside a base, between their deltas (θ₀ + the
// interpolated delta). The vectors interpolated are the whole tensor
// (nuslerp_flatten, the default), else each row (the last dimension), or
// with nuslerp_row_wise each vector along the first dimension (a column
// of a matrix). For vectors a and b, in float64:
//
//	cos = ⟨a,b⟩ / (max(‖a‖, 1e-7)·max(‖b‖, 1e-7)), clamped to [−1, 1]
//	θ = acos(cos); out = c₀·a + c₁·b with c₀ = sin((1−t)θ)/sin θ and
//	c₁ = sin(tθ)/sin θ, or c₀ = 1−t, c₁ = t when |sin θ| < 1e-8,
//
// the coefficients rounded to float32 (detmath.go's sin and acos).

func init() {
	register(method{
		name: "nuslerp",
		params: map[string]param{"weight": pWeight, "nuslerp_row_wise": boolParam(false),
			"nuslerp_flatten": boolParam(true), "clip": pClip},
		minModels:    1, // the count is checkNuslerp's
		baseOptional: true,
		check:        checkNuslerp,
		plan:         eachTensor(planNuslerp),
	})
}

// checkNuslerp asks for exactly two models, neither of them the base.
func checkNuslerp(r *Recipe) error {
	for _, m := range r.Models {
		if r.BaseModel != "" && m.Model == r.BaseModel {
			return fmt.Errorf("%w: nuslerp: the base model cannot be one of the two models it interpolates (as in mergekit): leave base_model out to interpolate the models themselves", ErrRecipe)
		}
	}
	if len(r.Models) != 2 {
		return fmt.Errorf("%w: nuslerp interpolates exactly two models, the recipe lists %d", ErrRecipe, len(r.Models))
	}
	return nil
}

func planNuslerp(s *tensorScope) (*tensorOp, error) {
	w, err := s.perInput("weight")
	if err != nil {
		return nil, err
	}
	t := 0.5
	if sum := w[0] + w[1]; math.Abs(sum) >= 1e-6 {
		t = w[1] / sum
	}
	op := &tensorOp{}
	if op.clip, err = s.clipParam(); err != nil {
		return nil, err
	}
	ps := points{abs: s.r.BaseModel == ""}
	switch {
	case s.flag("nuslerp_flatten"):
		op.stats = func(tr *tensorRun) (combiner, error) {
			g, err := ps.gram(tr)
			c0, c1 := nuslerpCoefs(t, g[0][0], g[0][1], g[1][1])
			return ps.sum([]float64{c0, c1}), err
		}
	case s.flag("nuslerp_row_wise"):
		op.stats = func(tr *tensorRun) (combiner, error) { return nuslerpColumns(tr, ps, t) }
	default:
		op.rows = true
		op.stats = func(tr *tensorRun) (combiner, error) { return nuslerpRows(tr, ps, t) }
	}
	return op, nil
}

// nuslerpCoefs are c₀ and c₁ for vectors of squared norms aa and bb and
// inner product ab.
func nuslerpCoefs(t, aa, ab, bb float64) (c0, c1 float64) {
	na, nb := math.Max(math.Sqrt(aa), 1e-7), math.Max(math.Sqrt(bb), 1e-7)
	theta := dAcos(math.Max(-1, math.Min(1, ab/(na*nb))))
	sin, _ := dSinCos(theta)
	if math.Abs(sin) < 1e-8 {
		return 1 - t, t
	}
	s0, _ := dSinCos((1 - t) * theta)
	s1, _ := dSinCos(t * theta)
	return s0 / sin, s1 / sin
}

// nuslerpRows interpolates each row: its inner products in 8 lanes from
// its first element.
func nuslerpRows(tr *tensorRun, ps points, t float64) (combiner, error) {
	cols := int(tr.cols)
	lerp := &pairLerp{abs: ps.abs, cols: tr.cols}
	var vs [][]float32
	err := tr.passes(func(off int64, k int) error {
		var err error
		if vs, err = ps.load(tr, off, k, vs); err != nil {
			return err
		}
		for r := 0; r < k; r += cols {
			var aa, ab, bb [8]float64
			a, b := vs[0][r:r+cols], vs[1][r:r+cols]
			dotLanes(&aa, 0, a, a)
			dotLanes(&ab, 0, a, b)
			dotLanes(&bb, 0, b, b)
			c0, c1 := nuslerpCoefs(t, laneSum(&aa), laneSum(&ab), laneSum(&bb))
			lerp.c0, lerp.c1 = append(lerp.c0, float32(c0)), append(lerp.c1, float32(c1))
		}
		return nil
	})
	return lerp, err
}

// nuslerpColumns interpolates each vector along the first dimension: for
// a tensor of N elements and first dimension d, the elements e ≡ m (mod
// N/d) form vector m, whose inner products are summed in element order.
func nuslerpColumns(tr *tensorRun, ps points, t float64) (combiner, error) {
	first := tr.n
	if len(tr.bt.Shape) > 0 {
		first = tr.bt.Shape[0]
	}
	nc := tr.n / max(first, 1)
	acc := make([][3]float64, nc)
	var vs [][]float32
	err := tr.passes(func(off int64, k int) error {
		var err error
		if vs, err = ps.load(tr, off, k, vs); err != nil {
			return err
		}
		m := off % nc
		for j, a := range vs[0][:k] {
			b := vs[1][j]
			s := &acc[m]
			s[0] += float64(a) * float64(a) // exact products: no rounding to fuse
			s[1] += float64(a) * float64(b)
			s[2] += float64(b) * float64(b)
			if m++; m == nc {
				m = 0
			}
		}
		return nil
	})
	lerp := &pairLerp{abs: ps.abs, cols: nc, byCol: true, c0: make([]float32, nc), c1: make([]float32, nc)}
	for m, s := range acc {
		c0, c1 := nuslerpCoefs(t, s[0], s[1], s[2])
		lerp.c0[m], lerp.c1[m] = float32(c0), float32(c1)
	}
	return lerp, err
}

// pairLerp is out = float32(c₀·a) + float32(c₁·b), c₀ and c₁ those of
// the element's row (or column, byCol), plus base when the points are
// deltas: lerp2's plain loop, which a kernel.Lerp2 would run.
type pairLerp struct {
	c0, c1     []float32
	abs, byCol bool
	cols       int64 // the row length, or the number of columns
}

func (p *pairLerp) combine(c *chunk) {
	a, b := c.xs[0], c.xs[1]
	if p.abs {
		addInto(a, c.base)
		addInto(b, c.base)
	}
	if p.byCol {
		m := c.off % p.cols
		for j := range c.out {
			c.out[j] = float32(p.c0[m]*a[j]) + float32(p.c1[m]*b[j])
			if m++; m == p.cols {
				m = 0
			}
		}
	} else {
		n := int(p.cols)
		for r := 0; r < len(c.out); r += n {
			row := (c.off + int64(r)) / p.cols
			lerp2(c.out[r:r+n], a[r:r+n], b[r:r+n], p.c0[row], p.c1[row])
		}
	}
	if !p.abs {
		addInto(c.out, c.base)
	}
}
