package merge_test

import (
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"testing"
)

// refSCE is mergekit's sce_merge in float64 on task vectors tvs (a full
// model's θᵢ − θ₀ rounded to float32, as Potluck defines its delta): with
// topk < 1, the ⌊nonzero·topk⌋ elements of largest variance across the
// models (unbiased=False, rounded to float32 to rank, ties to the earlier
// element: the departure METHODS.md states, where torch.topk picks any)
// are kept in every task vector, the others zeroed; weights mean(tv²)
// normalised (1/N when their sum is below 1e-6); per element the sign of
// Σ tv is elected (+ at 0), and θ₀ + Σ tv·w / max(Σ w, 1e-6) over the tv
// of that sign. An element whose election is within rounding of a tie has
// an infinite bound.
func refSCE(topk float64, base []float64, tvs [][]float64) (ref, mag []float64) {
	n, models := len(base), len(tvs)
	tv := make([][]float64, models)
	for i := range tvs {
		tv[i] = append([]float64(nil), tvs[i]...)
	}
	if topk < 1 {
		vars := make([]float32, n)
		nonzero := 0
		for e := range n {
			var mean, v float64
			for i := range tv {
				mean += tv[i][e] / float64(models)
			}
			for i := range tv {
				v += (tv[i][e] - mean) * (tv[i][e] - mean) / float64(models)
			}
			if vars[e] = float32(v); vars[e] != 0 {
				nonzero++
			}
		}
		order := make([]int, n)
		for e := range order {
			order[e] = e
		}
		sort.SliceStable(order, func(a, b int) bool { return vars[order[a]] > vars[order[b]] })
		for r, e := range order {
			if r >= int(float64(nonzero)*topk) {
				for i := range tv {
					tv[i][e] = 0
				}
			}
		}
	}
	w := make([]float64, models)
	var total float64
	for i := range tv {
		w[i] = dot(tv[i], tv[i]) / float64(n)
		total += w[i]
	}
	for i := range w {
		if math.Abs(total) < 1e-6 {
			w[i] = 1 / float64(models)
		} else {
			w[i] /= total
		}
	}
	ref, mag = make([]float64, n), make([]float64, n)
	for e, b := range base {
		var s, sAbs, num, den, abs float64
		for i := range tv {
			s += tv[i][e]
			sAbs += math.Abs(tv[i][e])
		}
		for i := range tv {
			if x := tv[i][e]; x != 0 && (x > 0) == (s >= 0) {
				num += x * w[i]
				den += w[i]
				abs += math.Abs(x * w[i])
			}
		}
		ref[e], mag[e] = b+num/max(den, 1e-6), math.Abs(b)+abs/max(den, 1e-6)
		if math.Abs(s) <= float64(models+2)*0x1p-23*sAbs {
			mag[e] = math.Inf(1)
		}
	}
	return ref, mag
}

// sce against its reference: mergekit's test (two full models beside the
// base, select_topk 0.5), four delta releases at 0.3, no selection, and
// select_topk 0 (the base). The tolerance is 3n + 8 float32 roundings of
// |θ₀| + Σ|wᵢδᵢ|/Σwᵢ (the deltas, the weights, the products and sums, the
// division, the base) and one of the output dtype.
func TestSCEMatchesReference(t *testing.T) {
	for _, tc := range []struct {
		n             int
		full          bool
		topk, topkEnd float64 // topkEnd: a gradient's end (0: none)
	}{{2, true, 0.5, 0}, {4, false, 0.3, 0}, {3, false, 1, 0}, {3, true, 0, 0}, {3, false, 0.2, 0.8}} {
		t.Run(fmt.Sprintf("%d/%v/%v-%v", tc.n, tc.full, tc.topk, tc.topkEnd), func(t *testing.T) {
			m := newMKModels(t, tc.n, tc.full)
			base := m.baseVals()
			per := []string{"{weight: 0.6}", "{weight: 0.4}"}
			global := fmt.Sprintf("select_topk: %v", tc.topk)
			if tc.topkEnd != 0 {
				global = fmt.Sprintf("select_topk: [%v, %v]", tc.topk, tc.topkEnd)
			}
			y := mkRecipe("sce", m.base, global, m.models, per)
			mkCheck(t, m, y, 3*tc.n+8, func(bt tensor, pos float64) ([]float64, []float64) {
				topk := tc.topk
				if tc.topkEnd != 0 {
					topk += (tc.topkEnd - tc.topk) * pos
				}
				var tvs [][]float64
				for _, th := range m.thetas {
					tv := make([]float64, len(bt.Vals))
					for e := range tv {
						tv[e] = float64(float32(th[bt.Name][e] - bt.Vals[e]))
					}
					tvs = append(tvs, tv)
				}
				return refSCE(topk, base[bt.Name], tvs)
			})
		})
	}
}

// Elements of equal variance at the cut: the earlier ones are selected,
// also when segments merged apart each start from the count before them.
func TestSCETiesFirstWins(t *testing.T) {
	root := t.TempDir()
	const n = 2000
	base := filepath.Join(root, "base")
	zeros := make([]float64, n)
	writeModel(t, base, map[string][]tensor{"model.safetensors": {{Name: "w", DType: "F32", Shape: []int64{n}, Vals: zeros}}})
	var models []string
	for i, sign := range []float64{1, -1} {
		v := make([]float64, n)
		for e := range v {
			v[e] = sign * float64(1+e%2) // variances 1 and 4, a thousand of each
		}
		dir := filepath.Join(root, fmt.Sprint("d", i))
		writeDelta(t, dir, hashDir(t, base), map[string][]tensor{"model.safetensors": {{Name: "w", DType: "F32", Shape: []int64{n}, Vals: v}}})
		models = append(models, dir)
	}
	for _, workers := range []int{1, 4} {
		out := outDir(t)
		runJob(t, mkRecipe("sce", base, "select_topk: 0.75", models, nil), out, workers, 64, 0)
		got := decode(t, "F32", readTensors(t, out)["w"].Raw)
		for e, v := range got { // 1500 kept: the 1000 of variance 4, then the first 500 of variance 1
			kept := e%2 == 1 || e < 1000
			if want := map[bool]float64{true: 1 + float64(e%2), false: 0}[kept]; v != want {
				t.Fatalf("workers %d: element %d: %v, want %v", workers, e, v, want)
			}
		}
	}
}

// sce gives the same bytes for any workers, chunking, segments (its cut
// counts the elements on its key before each) and kernels.
func TestSCEDeterministic(t *testing.T) {
	defer withBigTensor()()
	m := newMKModels(t, 3, false)
	for _, g := range []string{"select_topk: 0.4", "select_topk: 1"} {
		mkSameBytes(t, mkRecipe("sce", m.base, g, m.models, nil))
	}
}
