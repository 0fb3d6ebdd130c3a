package merge_test

import (
	"fmt"
	"math"
	"testing"
)

// refKarcher is mergekit's karcher_merge_tensors in float64 on the
// vectors, each point weighing 1/N. near reports a decision (a norm, an
// angle or ‖T‖ against tol) so close that rounding could turn it.
func refKarcher(points [][]float64, iters int, tol float64) (out, mag []float64, near bool) {
	n, size := len(points), len(points[0])
	nearTol := func(x float64) bool { return math.Abs(x-tol) <= 1e-9*tol+1e-300 }
	norms := make([]float64, n)
	units := make([][]float64, n)
	var valid []int
	for i, p := range points {
		norms[i] = math.Sqrt(dot(p, p))
		near = near || nearTol(norms[i])
		units[i] = make([]float64, size)
		if norms[i] != 0 {
			for e := range p {
				units[i][e] = p[e] / norms[i]
			}
		}
		if norms[i] > tol {
			valid = append(valid, i)
		}
	}
	out, mag = make([]float64, size), make([]float64, size)
	if len(valid) == 0 {
		return out, mag, near
	}
	a := 1 / float64(len(valid))
	u := make([]float64, size)
	for _, i := range valid {
		for e := range u {
			u[e] += a * units[i][e]
		}
	}
	if nu := math.Sqrt(dot(u, u)); nu < tol {
		copy(u, units[valid[0]])
	} else {
		for e := range u {
			u[e] /= nu
		}
	}
	for range iters {
		tang := make([]float64, size)
		for _, i := range valid {
			d := max(-1, min(1, dot(u, units[i])))
			theta := math.Acos(d)
			near = near || nearTol(theta)
			if theta < tol {
				continue
			}
			for e := range tang {
				tang[e] += a * (theta / math.Sin(theta)) * (units[i][e] - d*u[e])
			}
		}
		nt := math.Sqrt(dot(tang, tang))
		near = near || nearTol(nt)
		if nt < tol {
			break
		}
		for e := range u {
			u[e] = math.Cos(nt)*u[e] + math.Sin(nt)*tang[e]/nt
		}
		if nu := math.Sqrt(dot(u, u)); nu > tol {
			for e := range u {
				u[e] /= nu
			}
		}
	}
	var s float64
	for _, nm := range norms {
		s += nm / float64(n)
	}
	for e := range out {
		out[e] = s * u[e]
		for _, p := range points { // the output as Σ cᵢvᵢ: its terms are about s/N·|vᵢ|/nᵢ
			if nm := math.Sqrt(dot(p, p)); nm > 0 {
				mag[e] += 2 * s * math.Abs(p[e]) / nm
			}
		}
	}
	return out, mag, near
}

// karcher against its reference: mergekit's test (two models, the base
// appended as a third point, max_iter 5), the base listed first, no base,
// delta releases, and max_iter 0 (the normalised mean). The tolerance is
// N + 8 float32 roundings of the terms' magnitudes (the points, the
// coefficients, the products and the sums) and one of the output dtype.
func TestKarcherMatchesReference(t *testing.T) {
	for _, tc := range []struct {
		describe       string
		n              int
		full           bool
		base, listBase bool
		global         string
		iters          int
		tol            float64
		scale          float64 // the deltas': 10 spreads the points over wide angles
		itersEnd       int     // max_iter is a gradient ending there (0: none)
	}{
		{"mergekit's test", 2, true, true, false, "max_iter: 5\ntol: 1e-5", 5, 1e-5, 1, 0},
		{"base listed", 2, true, true, true, "", 10, 1e-5, 1, 0},
		{"no base", 3, true, false, false, "tol: 1e-6", 10, 1e-6, 10, 0},
		{"deltas", 4, false, true, false, "max_iter: 3", 3, 1e-5, 10, 0},
		{"one step", 4, false, true, false, "max_iter: 1", 1, 1e-5, 10, 0},
		{"mean only", 3, false, true, false, "max_iter: 0", 0, 1e-5, 10, 0},
		{"steps by layer", 3, false, true, false, "max_iter: [1, 3]", 1, 1e-5, 10, 3},
	} {
		t.Run(tc.describe, func(t *testing.T) {
			m := newMKModels(t, tc.n, tc.full, tc.scale)
			base := m.baseVals()
			var per []string
			for i := range tc.n + 1 {
				per = append(per, fmt.Sprintf("{weight: %v}", 0.6-0.2*float64(i)))
			}
			models, baseDir := m.models, m.base
			var thetas []map[string][]float64
			switch {
			case !tc.base:
				models, baseDir = append([]string{m.base}, m.models[:tc.n-1]...), ""
				thetas = append([]map[string][]float64{base}, m.thetas[:tc.n-1]...)
			case tc.listBase:
				models = append([]string{m.base}, m.models...)
				thetas = append([]map[string][]float64{base}, m.thetas...)
			default: // mergekit appends the base it does not find among the models
				thetas = append(append([]map[string][]float64(nil), m.thetas...), base)
			}
			y := mkRecipe("karcher", baseDir, tc.global, models, per)
			mkCheck(t, m, y, len(thetas)+8, func(bt tensor, pos float64) ([]float64, []float64) {
				iters := tc.iters
				if tc.itersEnd != 0 {
					iters = int(float64(tc.iters) + float64(tc.itersEnd-tc.iters)*pos)
				}
				var pts [][]float64
				for _, th := range thetas {
					pts = append(pts, th[bt.Name])
				}
				ref, mag, near := refKarcher(pts, iters, tc.tol)
				if near {
					t.Fatalf("%s: a decision lies within rounding of tol: the fixture cannot tell", bt.Name)
				}
				return ref, mag
			})
		})
	}
}

// karcher gives the same bytes for any workers, chunking and kernels.
func TestKarcherDeterministic(t *testing.T) {
	defer withBigTensor()()
	m := newMKModels(t, 3, true)
	mkSameBytes(t, mkRecipe("karcher", m.base, "", m.models, nil))
	mkSameBytes(t, mkRecipe("karcher", "", "max_iter: 3", append([]string{m.base}, m.models...), nil))
}
