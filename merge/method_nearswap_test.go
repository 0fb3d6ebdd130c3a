package merge_test

import (
	"math"
	"testing"
)

// refNearswap is mergekit's nearswap_merge in float64: with a the base's
// value and b the model's, w = clamp(t / clamp(|a − b|, min 1e-6), 0, 1)
// and out = w·b + (1 − w)·a.
func refNearswap(t float64, base, theta []float64) (ref, mag []float64) {
	ref, mag = make([]float64, len(base)), make([]float64, len(base))
	for e, a := range base {
		b := theta[e]
		w := min(1, max(0, t/max(math.Abs(a-b), 1e-6)))
		ref[e] = w*b + (1-w)*a
		mag[e] = math.Abs(a) + math.Abs(b-a)
	}
	return ref, mag
}

// nearswap against its reference: a full model beside the base listed
// among the models (mergekit's test), and a delta release; t small,
// straddling the deltas, a gradient, and negative. The tolerance is 6
// float32 roundings of |θ₀| + |δ| (δ, t/|δ|, w·δ, the sum) and one of the
// output dtype; weights are accepted and ignored, as mergekit ignores them.
func TestNearswapMatchesReference(t *testing.T) {
	for _, full := range []bool{true, false} {
		m := newMKModels(t, 1, full)
		base := m.baseVals()
		for _, tc := range []struct {
			global string
			t      func(pos float64) float64
		}{
			{"t: 0.0001", func(float64) float64 { return 0.0001 }},
			{"t: 0.05", func(float64) float64 { return 0.05 }},
			{"t: [0.01, 0.2]", func(pos float64) float64 { return 0.01 + 0.19*pos }},
			{"t: -0.1", func(float64) float64 { return -0.1 }},
		} {
			models, per := m.models, []string{"{weight: 0.4}"}
			if full {
				models, per = []string{m.base, m.models[0]}, []string{"{weight: 0.6}", "{weight: 0.4}"}
			}
			y := mkRecipe("nearswap", m.base, tc.global, models, per)
			mkCheck(t, m, y, 6, func(bt tensor, pos float64) ([]float64, []float64) {
				return refNearswap(tc.t(pos), base[bt.Name], m.thetas[0][bt.Name])
			})
		}
	}
}

// nearswap gives the same bytes for any workers, chunking and kernels.
func TestNearswapDeterministic(t *testing.T) {
	defer withBigTensor()()
	m := newMKModels(t, 1, true)
	mkSameBytes(t, mkRecipe("nearswap", m.base, "t: 0.05", m.models, nil))
}
