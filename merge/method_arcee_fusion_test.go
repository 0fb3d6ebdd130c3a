package merge_test

import (
	"math"
	"sort"
	"testing"
)

// refFusion is mergekit's ArceeFusionMergeTask in float64: importance =
// |θ₁ − θ₀|·KL per row of the last dimension, KL = Σ p·log(p/q) with
// p = softmax(θ₁) + 1e-8 and q = softmax(θ₀) + 1e-8; the quantiles are
// sorted[⌊q·(N−1)⌋] (approximate_quantiles without its sampling, which
// only a tensor of over 10⁶ elements takes); threshold = median +
// 1.5·IQR; θ₀ + δ where importance ≥ threshold. δ is θ₁ − θ₀ rounded to
// float32, Potluck's delta of a full model. An element whose importance
// lies within 1e-5 (relative) of the threshold could go either way
// (float32 importances, quantiles of rounded values): infinite bound.
func refFusion(shape []int64, base, theta []float64) (ref, mag []float64) {
	n := len(base)
	cols := int(shape[len(shape)-1])
	imp := make([]float64, n)
	softmax := func(v []float64) []float64 {
		m := v[0]
		for _, x := range v {
			m = math.Max(m, x)
		}
		out, s := make([]float64, len(v)), 0.0
		for i, x := range v {
			out[i] = math.Exp(x - m)
			s += out[i]
		}
		for i := range out {
			out[i] = out[i]/s + 1e-8
		}
		return out
	}
	for r := 0; r < n; r += cols {
		p, q := softmax(theta[r:r+cols]), softmax(base[r:r+cols])
		var kl float64
		for j := range p {
			kl += p[j] * math.Log(p[j]/q[j])
		}
		for j := r; j < r+cols; j++ {
			imp[j] = math.Abs(float64(float32(theta[j]-base[j]))) * kl
		}
	}
	sorted := append([]float64(nil), imp...)
	sort.Float64s(sorted)
	quantile := func(q float64) float64 { return sorted[int(q*float64(n-1))] }
	thr := quantile(0.5) + 1.5*(quantile(0.75)-quantile(0.25))
	ref, mag = make([]float64, n), make([]float64, n)
	for e, b := range base {
		d := float64(float32(theta[e] - b))
		ref[e], mag[e] = b, math.Abs(b)+math.Abs(d)
		if imp[e] >= thr {
			ref[e] += d
		}
		if math.Abs(imp[e]-thr) <= 1e-5*thr {
			mag[e] = math.Inf(1)
		}
	}
	return ref, mag
}

// arcee_fusion against its reference: mergekit's example (the base listed
// among the two models, a full model beside it) and a delta release,
// deltas small and large beside the base. The tolerance is 3 float32
// roundings of |θ₀| + |δ| (the delta, θ₁ for the KL, the sum) and one of
// the output dtype.
func TestArceeFusionMatchesReference(t *testing.T) {
	for _, full := range []bool{true, false} {
		for _, scale := range []float64{1, 10} {
			m := newMKModels(t, 1, full, scale)
			base := m.baseVals()
			models, per := m.models, []string(nil)
			if full {
				models, per = []string{m.base, m.models[0]}, []string{"{weight: 0.6}", "{weight: 0.4}"}
			}
			y := mkRecipe("arcee_fusion", m.base, "", models, per)
			kept := 0
			mkCheck(t, m, y, 3, func(bt tensor, _ float64) ([]float64, []float64) {
				ref, mag := refFusion(bt.Shape, base[bt.Name], m.thetas[0][bt.Name])
				for e := range ref {
					if ref[e] != bt.Vals[e] {
						kept++
					}
				}
				return ref, mag
			})
			if kept == 0 {
				t.Error("the reference keeps no delta: the fixture tells nothing")
			}
		}
	}
}

// arcee_fusion gives the same bytes for any workers, chunking and kernels.
func TestArceeFusionDeterministic(t *testing.T) {
	defer withBigTensor()()
	m := newMKModels(t, 1, true)
	mkSameBytes(t, mkRecipe("arcee_fusion", m.base, "", []string{m.base, m.models[0]}, nil))
}
