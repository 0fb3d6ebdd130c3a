package merge

import (
	"fmt"
	"math"
)

// multislerp is mergekit's barycentric interpolation on the hypersphere
// (goddard.blog, "multislerp"): the models themselves without base_model,
// their deltas beside a base (θ₀ + the result), each a whole tensor vᵢ of
// weight wᵢ (divided by Σ wᵢ when normalize_weights). With nᵢ = ‖vᵢ‖ and
// uᵢ = vᵢ/(nᵢ+ε): the mean m = Σ wᵢuᵢ, normalised; the tangent vectors
// uᵢ − ⟨uᵢ,m⟩·m and their weighted sum T; the result
// (m·cos‖T‖' + T·sin‖T‖'/‖T‖')·Σ wᵢnᵢ with ‖T‖' = ‖T‖ + ε. Every vector
// here is a combination of the vᵢ, so it is computed, in float64, as
// coefficients cᵢ of the vᵢ from their Gram matrix, rounded to float32,
// and the output is Σ cᵢvᵢ. When ‖Σ wᵢuᵢ‖ < ε, two models are summed
// linearly (Σ wᵢvᵢ) and more are refused, as mergekit does.

func init() {
	register(method{
		name: "multislerp",
		params: map[string]param{"weight": pWeight, "normalize_weights": boolParam(true),
			"eps": {kind: pNumber, def: 1e-8, rangeOK: nonNegative}, "clip": pClip},
		minModels:    1,
		baseOptional: true,
		plan:         eachTensor(planMultislerp),
	})
}

func planMultislerp(s *tensorScope) (*tensorOp, error) {
	w, err := s.perInput("weight")
	if err != nil {
		return nil, err
	}
	if s.flag("normalize_weights") {
		sum := sumOf(w)
		if sum == 0 {
			return nil, fmt.Errorf("%w: tensor %q: multislerp with normalize_weights: the weights sum to 0", ErrRecipe, s.name)
		}
		for i := range w {
			w[i] /= sum
		}
	}
	eps, err := s.number("eps")
	if err != nil {
		return nil, err
	}
	op := &tensorOp{}
	if op.clip, err = s.clipParam(); err != nil {
		return nil, err
	}
	ps := points{abs: s.r.BaseModel == ""}
	name := s.name
	op.stats = func(tr *tensorRun) (combiner, error) {
		if len(w) == 1 { // mergekit returns the one model as it is
			return ps.sum([]float64{1}), nil
		}
		g, err := ps.gram(tr)
		if err != nil {
			return nil, err
		}
		c, ok := multislerpCoefs(g, w, eps)
		if !ok {
			return nil, fmt.Errorf("%w: tensor %q: multislerp: the weighted mean of the models' directions is 0 (models pointing opposite ways with weights that balance), which mergekit refuses for more than two models", ErrRecipe, name)
		}
		return ps.sum(c), nil
	}
	return op, nil
}

// multislerpCoefs are the output's coefficients over the points whose
// Gram matrix is g, or false where mergekit fails. Products are rounded
// before they are added.
func multislerpCoefs(g [][]float64, w []float64, eps float64) ([]float64, bool) {
	n := len(w)
	norms, a := make([]float64, n), make([]float64, n) // uᵢ = aᵢ/wᵢ·vᵢ; Σ wᵢuᵢ = Σ aᵢvᵢ
	var avg float64
	for i := range n {
		norms[i] = math.Sqrt(g[i][i])
		a[i] = w[i] / (norms[i] + eps)
		avg += float64(norms[i] * w[i])
	}
	mn := norm2(g, a)
	if mn < eps {
		if n == 2 {
			return w, true
		}
		return nil, false
	}
	// ⟨uᵢ, m⟩ = (g·a)ᵢ / ((nᵢ+ε)·‖Σ aᵢvᵢ‖); T = Σ aᵢvᵢ − (Σ wᵢ⟨uᵢ,m⟩)·m.
	var d float64
	for i := range n {
		var ga float64
		for j := range n {
			ga += float64(g[i][j] * a[j])
		}
		d += float64(w[i] * float64(ga/float64((norms[i]+eps)*mn)))
	}
	tau := make([]float64, n)
	for j := range n {
		tau[j] = a[j] - float64(d*float64(a[j]/mn))
	}
	tn := norm2(g, tau) + eps
	sin, cos := dSinCos(tn)
	c := make([]float64, n)
	for j := range n {
		c[j] = float64(avg * (float64(cos*float64(a[j]/mn)) + float64(tau[j]*float64(sin/tn))))
	}
	return c, true
}
