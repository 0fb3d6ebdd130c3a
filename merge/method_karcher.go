package merge

import (
	"fmt"
	"math"
)

// karcher is mergekit's Riemannian (Karcher) mean of the models
// themselves, each weighing alike: a recipe's base is one of the points
// (listed among the models at its place, or, when not listed, after
// them, as mergekit appends it), and without base_model the first model
// is. With vᵢ the points as whole tensors, nᵢ = ‖vᵢ‖, uᵢ = vᵢ/nᵢ and the
// points of nᵢ > tol each weighing a = 1/(their count):
//
//	u = Σ a·uᵢ, normalised (the first such uᵢ when ‖u‖ < tol); then up to
//	max_iter times: T = Σ a·θᵢ/sin θᵢ·(uᵢ − cos θᵢ·u) over the points of
//	θᵢ = acos(clamp(⟨u,uᵢ⟩, −1, 1)) ≥ tol; stop when ‖T‖ < tol; else
//	u = cos‖T‖·u + sin‖T‖·T/‖T‖, normalised when ‖u‖ > tol;
//	out = (Σ nᵢ/N)·u over all N points (0 when no nᵢ exceeds tol).
//
// Every vector here is a combination of the vᵢ, so it is computed in
// float64 as coefficients of the vᵢ from their Gram matrix (each product
// rounded before it is added; detmath.go's acos, sin and cos), rounded to
// float32, and the output is their weighted sum (points.go).

func init() {
	register(method{
		name: "karcher",
		params: map[string]param{"max_iter": {kind: pInt, def: 10.0, rangeOK: nonNegative},
			"tol": {kind: pNumber, def: 1e-5, rangeOK: nonNegative}, "clip": pClip},
		minModels:    1,
		baseIsInput:  true,
		baseOptional: true,
		check:        checkKarcher,
		plan:         planKarcher,
	})
}

// checkKarcher refuses a recipe whose only model is the base: the mean of
// one point is that point, and mergekit asks for a model besides the base.
func checkKarcher(r *Recipe) error {
	for _, m := range r.Models {
		if m.Model != r.BaseRef() {
			return nil
		}
	}
	return fmt.Errorf("%w: karcher needs at least 1 model besides the base (the recipe lists only the base)", ErrRecipe)
}

func planKarcher(s *mergeScope) (tensorPlanner, error) {
	ps := points{abs: true, extra: s.r.BaseModel != ""}
	for _, in := range s.inputs {
		if in.kind == inBase {
			ps.extra = false // listed: a point at its place
		}
	}
	return func(t *tensorScope) (*tensorOp, error) {
		iters, err := t.number("max_iter")
		if err != nil {
			return nil, err
		}
		tol, err := t.number("tol")
		if err != nil {
			return nil, err
		}
		op := &tensorOp{}
		op.clip, err = t.clipParam()
		op.stats = func(tr *tensorRun) (combiner, error) {
			if ps.count(tr) == 1 { // mergekit returns the one model as it is
				return ps.sum([]float64{1}), nil
			}
			g, err := ps.gram(tr)
			return ps.sum(karcherCoefs(g, int(iters), tol)), err
		}
		return op, err
	}, nil
}

// karcherCoefs are the output's coefficients over the points whose Gram
// matrix is g.
func karcherCoefs(g [][]float64, iters int, tol float64) []float64 {
	n := len(g)
	norms := make([]float64, n)
	var valid []int
	var alphaSum, scale float64
	for i := range n {
		norms[i] = math.Sqrt(g[i][i])
		scale += float64(1 / float64(n) * norms[i])
		if norms[i] > tol {
			valid = append(valid, i)
			alphaSum += 1 / float64(n)
		}
	}
	beta := make([]float64, n) // u = Σ βᵢvᵢ
	if len(valid) == 0 {
		return beta
	}
	a := 1 / float64(n) / alphaSum
	for _, i := range valid {
		beta[i] += a / norms[i]
	}
	if nu := norm2(g, beta); nu < tol {
		clear(beta)
		beta[valid[0]] = 1 / norms[valid[0]]
	} else {
		divBy64(beta, nu)
	}
	for range iters {
		tang := make([]float64, n) // T = Σ γᵢvᵢ
		for _, i := range valid {
			var gb float64
			for j := range n {
				gb += float64(g[i][j] * beta[j])
			}
			dot := math.Max(-1, math.Min(1, gb/norms[i]))
			theta := dAcos(dot)
			if theta < tol {
				continue
			}
			sin, _ := dSinCos(theta)
			f := float64(a * float64(theta/sin))
			tang[i] += f / norms[i]
			for j := range n {
				tang[j] -= float64(float64(f*dot) * beta[j])
			}
		}
		nt := norm2(g, tang)
		if nt < tol {
			break
		}
		sin, cos := dSinCos(nt)
		for j := range n {
			beta[j] = float64(cos*beta[j]) + float64(sin*float64(tang[j]/nt))
		}
		if nu := norm2(g, beta); nu > tol {
			divBy64(beta, nu)
		}
	}
	for i := range beta {
		beta[i] *= scale
	}
	return beta
}

// divBy64 divides v by d.
func divBy64(v []float64, d float64) {
	for i := range v {
		v[i] /= d
	}
}
