package merge_test

import (
	"fmt"
	"math"
	"testing"
)

// refRAM is mergekit's ram_merge (plus false) or ramplus_tl_merge in
// float64: task vectors tvᵢ = θᵢ − θ₀; nz = |tv| > ε; c = Σᵢ nz per
// element; unique where c = 1, overlap where c > 1; for ramplus_tl,
// ρᵢ = Σ(nzᵢ ∧ overlap) / max(Σ(nzᵢ ∧ unique), ε) and
// λᵢ = 1 + r·clamp(ρᵢ, 0, α) (1 for ram); out = θ₀ + Σᵢ (tvᵢ·nzᵢ·unique·λᵢ
// + tvᵢ·nzᵢ·overlap / max(c, 1)). It reports whether some |tv| lies so
// near ε that float32 could decide it the other way.
func refRAM(plus bool, eps, r, alpha float64, base []float64, thetas [][]float64) (ref, mag []float64, near bool) {
	n := len(thetas)
	tv := make([][]float64, n)
	for i, th := range thetas {
		tv[i] = make([]float64, len(base))
		for e := range base {
			tv[i][e] = th[e] - base[e]
			near = near || math.Abs(math.Abs(tv[i][e])-eps) <= 1e-6*eps
		}
	}
	count := func(e int) (c int) {
		for i := range n {
			if math.Abs(tv[i][e]) > eps {
				c++
			}
		}
		return c
	}
	lambda := make([]float64, n)
	for i := range n {
		var shared, unique float64
		for e := range base {
			if math.Abs(tv[i][e]) > eps {
				if count(e) > 1 {
					shared++
				} else {
					unique++
				}
			}
		}
		lambda[i] = 1
		if plus {
			lambda[i] = 1 + r*min(max(shared/max(unique, eps), 0), alpha)
		}
	}
	ref, mag = make([]float64, len(base)), make([]float64, len(base))
	for e, b := range base {
		c := count(e)
		ref[e], mag[e] = b, math.Abs(b)
		for i := range n {
			if math.Abs(tv[i][e]) <= eps {
				continue
			}
			if c == 1 {
				ref[e] += tv[i][e] * lambda[i]
			} else {
				ref[e] += tv[i][e] / float64(c)
			}
			mag[e] += math.Abs(tv[i][e]) * max(lambda[i], 1)
		}
	}
	return ref, mag, near
}

// ram and ramplus_tl against their reference: mergekit's tests' recipes
// (two full models, the base apart), and four delta releases with an ε
// that splits the deltas. The tolerance is n + 5 float32 roundings of
// |θ₀| + Σ|δᵢ|·λᵢ (δ, the sum, the division or λ's product, the base) and
// one of the output dtype.
func TestRAMMatchesReference(t *testing.T) {
	for _, tc := range []struct {
		method        string
		n             int
		full          bool
		global        string
		eps, r, alpha float64
		rEnd          float64 // r's gradient ends there (0: none)
		weights       bool
	}{
		{method: "ram", n: 2, full: true, eps: 1e-5, weights: true},
		{method: "ram", n: 4, global: "epsilon: 0.03", eps: 0.03},
		{method: "ramplus_tl", n: 2, full: true, global: "r: 0.05\nalpha: 1.0", eps: 1e-5, r: 0.05, alpha: 1, weights: true},
		{method: "ramplus_tl", n: 4, global: "epsilon: 0.03", eps: 0.03, r: 0.1, alpha: 0.2},
		{method: "ramplus_tl", n: 3, full: true, global: "epsilon: 0.02\nr: 0.5\nalpha: 0.3", eps: 0.02, r: 0.5, alpha: 0.3},
		{method: "ramplus_tl", n: 4, global: "epsilon: 0.03\nr: [0.05, 0.5]", eps: 0.03, r: 0.05, rEnd: 0.5, alpha: 0.2},
	} {
		t.Run(fmt.Sprintf("%s/%d/%s", tc.method, tc.n, tc.global), func(t *testing.T) {
			m := newMKModels(t, tc.n, tc.full)
			var per []string
			for i := range tc.n {
				if tc.weights {
					per = append(per, fmt.Sprintf("{weight: %v}", 0.6-0.2*float64(i)))
				}
			}
			y := mkRecipe(tc.method, m.base, tc.global, m.models, per)
			base := m.baseVals()
			mkCheck(t, m, y, tc.n+5, func(bt tensor, pos float64) ([]float64, []float64) {
				r := tc.r
				if tc.rEnd != 0 {
					r += (tc.rEnd - tc.r) * pos
				}
				var th [][]float64
				for _, v := range m.thetas {
					th = append(th, v[bt.Name])
				}
				ref, mag, near := refRAM(tc.method == "ramplus_tl", tc.eps, r, tc.alpha, base[bt.Name], th)
				if near {
					t.Fatalf("%s: a delta lies within rounding of ε: the fixture cannot tell", bt.Name)
				}
				return ref, mag
			})
		})
	}
}

// ram and ramplus_tl give the same bytes for any workers, chunking and
// kernels.
func TestRAMDeterministic(t *testing.T) {
	defer withBigTensor()()
	m := newMKModels(t, 3, false)
	for _, method := range []string{"ram", "ramplus_tl"} {
		mkSameBytes(t, mkRecipe(method, m.base, "epsilon: 0.02", m.models, nil))
	}
}
