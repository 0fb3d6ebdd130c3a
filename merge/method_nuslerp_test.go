package merge_test

import (
	"fmt"
	"math"
	"testing"
)

// refNuslerpVec is mergekit's nuslerp of two vectors in float64: each
// normalised by max(‖v‖, 1e-7), cos their inner product clamped to
// [−1, 1], θ = acos cos; (sin((1−t)θ)·v₀ + sin(tθ)·v₁)/sin θ, or
// (1−t)·v₀ + t·v₁ when |sin θ| < 1e-8. mag bounds the terms.
func refNuslerpVec(t float64, v0, v1 []float64) (out, mag []float64) {
	unit := func(v []float64) []float64 {
		var sq float64
		for _, x := range v {
			sq += x * x
		}
		n := max(math.Sqrt(sq), 1e-7)
		u := make([]float64, len(v))
		for i, x := range v {
			u[i] = x / n
		}
		return u
	}
	u0, u1 := unit(v0), unit(v1)
	var cos float64
	for i := range u0 {
		cos += u0[i] * u1[i]
	}
	theta := math.Acos(max(-1, min(1, cos)))
	s0, s1 := math.Sin((1-t)*theta)/math.Sin(theta), math.Sin(t*theta)/math.Sin(theta)
	if math.Abs(math.Sin(theta)) < 1e-8 {
		s0, s1 = 1-t, t
	}
	out, mag = make([]float64, len(v0)), make([]float64, len(v0))
	for i := range v0 {
		out[i] = s0*v0[i] + s1*v1[i]
		mag[i] = math.Abs(s0*v0[i]) + math.Abs(s1*v1[i])
	}
	return out, mag
}

// refNuslerp is mergekit's NuSlerpTask on one tensor (1-D or 2-D):
// t = w₁/(w₀+w₁) (0.5 when the sum is below 1e-6); the vectors are the
// flattened tensor, its rows, or with rowWise the rows of its transpose
// (dimension 0 swapped with the last); beside a base, the deltas are
// interpolated and added to it.
func refNuslerp(w0, w1 float64, flatten, rowWise bool, shape []int64, base, a, b []float64) (out, mag []float64) {
	t := 0.5
	if math.Abs(w0+w1) >= 1e-6 {
		t = w1 / (w0 + w1)
	}
	n := len(a)
	rows, cols := 1, n
	if len(shape) == 2 {
		rows, cols = int(shape[0]), int(shape[1])
	}
	var groups [][]int // each vector's element indices, in order
	switch {
	case flatten || len(shape) == 1:
		groups = [][]int{make([]int, n)}
		for e := range n {
			groups[0][e] = e
		}
	case rowWise: // the transpose's rows: the columns
		for c := range cols {
			var g []int
			for r := range rows {
				g = append(g, r*cols+c)
			}
			groups = append(groups, g)
		}
	default:
		for r := range rows {
			var g []int
			for c := range cols {
				g = append(g, r*cols+c)
			}
			groups = append(groups, g)
		}
	}
	out, mag = make([]float64, n), make([]float64, n)
	for _, g := range groups {
		v0, v1 := make([]float64, len(g)), make([]float64, len(g))
		for i, e := range g {
			v0[i], v1[i] = a[e], b[e]
			if base != nil {
				v0[i], v1[i] = a[e]-base[e], b[e]-base[e]
			}
		}
		o, m := refNuslerpVec(t, v0, v1)
		for i, e := range g {
			out[e], mag[e] = o[i], m[i]
			if base != nil {
				out[e] += base[e]
				mag[e] += math.Abs(base[e])
			}
		}
	}
	return out, mag
}

// nuslerp against its reference, in every form of mergekit's
// test_nuslerp_merges: without a base and beside one, rows, the first
// dimension's vectors and the whole tensor, and weights that sum to 0.
// The tolerance is 8 float32 roundings of the terms' magnitudes (the
// deltas or models, the two coefficients, the two products, the sum, the
// base) and one of the output dtype.
func TestNuslerpMatchesReference(t *testing.T) {
	for _, withBase := range []bool{false, true} {
		m := newMKModels(t, 3, true)
		base := m.baseVals()
		for _, c := range []struct {
			rowWise, flatten bool
			w0, w1           float64
			w0End            float64 // model 0's weight is a gradient ending there (0: none)
		}{{false, false, 0.6, 0.4, 0}, {true, false, 0.6, 0.4, 0}, {false, true, 0.6, 0.4, 0}, {true, true, 0.6, 0.4, 0},
			{false, false, -0.5, 0.5, 0}, {false, true, 0.1, 0.5, 0.9}} {
			t.Run(fmt.Sprintf("base=%v/%+v", withBase, c), func(t *testing.T) {
				global := fmt.Sprintf("nuslerp_row_wise: %v\nnuslerp_flatten: %v", c.rowWise, c.flatten)
				per := []string{fmt.Sprintf("{weight: %v}", c.w0), fmt.Sprintf("{weight: %v}", c.w1)}
				if c.w0End != 0 {
					per[0] = fmt.Sprintf("{weight: [%v, %v]}", c.w0, c.w0End)
				}
				a, b, baseDir := base, m.thetas[0], ""
				models := []string{m.base, m.models[0]}
				if withBase {
					a, b, baseDir, models = m.thetas[1], m.thetas[2], m.base, m.models[1:]
				}
				y := mkRecipe("nuslerp", baseDir, global, models, per)
				mkCheck(t, m, y, 8, func(bt tensor, pos float64) ([]float64, []float64) {
					var bv []float64
					if withBase {
						bv = base[bt.Name]
					}
					w0 := c.w0
					if c.w0End != 0 {
						w0 += (c.w0End - c.w0) * pos
					}
					return refNuslerp(w0, c.w1, c.flatten, c.rowWise, bt.Shape, bv, a[bt.Name], b[bt.Name])
				})
			})
		}
	}
}

// nuslerp gives the same bytes for any workers, chunking and kernels, in
// each form.
func TestNuslerpDeterministic(t *testing.T) {
	defer withBigTensor()()
	m := newMKModels(t, 2, true)
	for _, g := range []string{"nuslerp_flatten: true", "nuslerp_flatten: false", "nuslerp_flatten: false\nnuslerp_row_wise: true"} {
		mkSameBytes(t, mkRecipe("nuslerp", m.base, g, m.models, nil))
		mkSameBytes(t, mkRecipe("nuslerp", "", g, []string{m.base, m.models[0]}, nil))
	}
}
