package merge_test

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck/merge"
)

// refMultislerp is mergekit's multislerp on one tensor, step by step in
// float64 on the vectors: vs the models (or their deltas from base), the
// weights normalised when normalize, unit vectors vᵢ/(‖vᵢ‖+ε), their
// weighted mean normalised, the tangent vectors and their weighted sum T,
// m·cos‖T‖' + T·sin‖T‖'/‖T‖' (‖T‖' = ‖T‖+ε) scaled by Σ wᵢ‖vᵢ‖, plus the
// base. ok is false where mergekit raises.
func refMultislerp(w []float64, normalize bool, eps float64, base []float64, models [][]float64) (out, mag []float64, ok bool) {
	n, size := len(models), len(models[0])
	vs := make([][]float64, n)
	for i, th := range models {
		vs[i] = append([]float64(nil), th...)
		for e := range vs[i] {
			if base != nil {
				vs[i][e] -= base[e]
			}
		}
	}
	w = append([]float64(nil), w...)
	if normalize {
		var s float64
		for _, x := range w {
			s += x
		}
		for i := range w {
			w[i] /= s
		}
	}
	norm := func(v []float64) float64 { return math.Sqrt(dot(v, v)) }
	norms, units := make([]float64, n), make([][]float64, n)
	mean := make([]float64, size)
	for i, v := range vs {
		norms[i] = norm(v)
		units[i] = make([]float64, size)
		for e := range v {
			units[i][e] = v[e] / (norms[i] + eps)
			mean[e] += units[i][e] * w[i]
		}
	}
	out, mag = make([]float64, size), make([]float64, size)
	if mn := norm(mean); mn < eps {
		if n != 2 {
			return nil, nil, false
		}
		for e := range out {
			out[e] = vs[0][e]*w[0] + vs[1][e]*w[1]
			mag[e] = math.Abs(vs[0][e]*w[0]) + math.Abs(vs[1][e]*w[1])
		}
	} else {
		for e := range mean {
			mean[e] /= mn
		}
		tangent := make([]float64, size)
		for i, u := range units {
			d := dot(u, mean)
			for e := range u {
				tangent[e] += (u[e] - d*mean[e]) * w[i]
			}
		}
		tn := norm(tangent) + eps
		var avg float64
		for i := range n {
			avg += norms[i] * w[i]
		}
		for e := range out {
			out[e] = (mean[e]*math.Cos(tn) + tangent[e]*math.Sin(tn)/tn) * avg
			for i := range n { // the result as Σ cᵢvᵢ: its terms are about avg·wᵢ/‖vᵢ‖·|vᵢ|
				mag[e] += math.Abs(avg*w[i]/(norms[i]+eps)*vs[i][e]) / mn
			}
		}
	}
	for e := range out {
		if base != nil {
			out[e] += base[e]
			mag[e] += math.Abs(base[e])
		}
	}
	return out, mag, true
}

// multislerp against its reference: mergekit's test recipe (two full
// models beside a base), the models themselves without base_model, four
// delta releases with other weights, and weights not normalised. The
// tolerance is n + 8 float32 roundings of the terms' magnitudes (the
// points, the coefficients, the products and sums, the base) and one of
// the output dtype.
func TestMultislerpMatchesReference(t *testing.T) {
	for _, tc := range []struct {
		n            int
		full, noBase bool
		w            []float64
		global       string
		normalize    bool
		eps          float64
		describe     string
		w0End        float64 // model 0's weight is a gradient ending there (0: none)
	}{
		{n: 2, full: true, w: []float64{0.6, 0.4}, normalize: true, eps: 1e-8, describe: "mergekit's test"},
		{n: 3, full: true, noBase: true, w: []float64{0.5, 0.3, 0.2}, normalize: true, eps: 1e-8, describe: "no base"},
		{n: 4, w: []float64{1, 0.5, 2, 0.25}, normalize: true, eps: 1e-8, describe: "deltas"},
		{n: 3, w: []float64{0.7, -0.2, 0.4}, global: "normalize_weights: false\neps: 1e-6", eps: 1e-6, describe: "unnormalised"},
		{n: 3, w: []float64{0.5, 0.3, 0.2}, normalize: true, eps: 1e-8, describe: "weight gradient", w0End: 1.5},
	} {
		t.Run(tc.describe, func(t *testing.T) {
			m := newMKModels(t, tc.n, tc.full)
			base := m.baseVals()
			var per []string
			for _, w := range tc.w {
				per = append(per, fmt.Sprintf("{weight: %v}", w))
			}
			if tc.w0End != 0 {
				per[0] = fmt.Sprintf("{weight: [%v, %v]}", tc.w[0], tc.w0End)
			}
			models, baseDir, thetas := m.models, m.base, m.thetas
			if tc.noBase {
				models, baseDir = append([]string{m.base}, m.models[:tc.n-1]...), ""
				thetas = append([]map[string][]float64{base}, m.thetas[:tc.n-1]...)
			}
			normalize := tc.normalize || !strings.Contains(tc.global, "normalize_weights: false")
			y := mkRecipe("multislerp", baseDir, tc.global, models, per)
			mkCheck(t, m, y, len(tc.w)+8, func(bt tensor, pos float64) ([]float64, []float64) {
				w := append([]float64(nil), tc.w...)
				if tc.w0End != 0 {
					w[0] += (tc.w0End - w[0]) * pos
				}
				var bv []float64
				if !tc.noBase {
					bv = base[bt.Name]
				}
				var th [][]float64
				for _, v := range thetas {
					th = append(th, v[bt.Name])
				}
				ref, mag, ok := refMultislerp(w, normalize, tc.eps, bv, th)
				if !ok {
					t.Fatalf("%s: the reference raises", bt.Name)
				}
				return ref, mag
			})
		})
	}
}

// Opposite deltas of equal weights cancel: two are summed linearly (to
// the base), three are refused naming the tensor, as mergekit does.
func TestMultislerpOpposites(t *testing.T) {
	m := newMKModels(t, 1, false)
	neg := filepath.Join(t.TempDir(), "neg")
	var ts []tensor
	for _, bt := range m.tensors {
		d := m.deltaVals(bt.Name, len(bt.Vals))[0]
		v := make([]float64, len(d))
		for e := range d {
			v[e] = -d[e]
		}
		ts = append(ts, tensor{Name: bt.Name, DType: "F32", Shape: bt.Shape, Vals: v})
	}
	writeDelta(t, neg, hashDir(t, m.base), map[string][]tensor{"model.safetensors": ts})
	out := outDir(t)
	runJob(t, mkRecipe("multislerp", m.base, "", []string{m.models[0], neg}, nil), out, 1, 0, 0)
	for _, bt := range m.tensors {
		if got := readTensors(t, out)[bt.Name].Raw; string(got) != string(encode(t, bt)) {
			t.Errorf("%s: opposite deltas did not cancel to the base", bt.Name)
		}
	}
	out = outDir(t)
	_, err := runRecipe(mkRecipe("multislerp", m.base, "", []string{m.models[0], neg, m.models[0]}, []string{"{weight: 1}", "{weight: 2}", "{weight: 1}"}), out)
	wantErr(t, err, merge.ErrRecipe, "multislerp", "tensor", "opposite")
	checkNoOutput(t, out)
}

// multislerp gives the same bytes for any workers, chunking and kernels.
func TestMultislerpDeterministic(t *testing.T) {
	defer withBigTensor()()
	m := newMKModels(t, 3, true)
	mkSameBytes(t, mkRecipe("multislerp", m.base, "", m.models, []string{"{weight: 0.5}", "{weight: 0.3}", "{weight: 0.2}"}))
	mkSameBytes(t, mkRecipe("multislerp", "", "", append([]string{m.base}, m.models...), nil))
}

// The base listed among the models is left out of them, as mergekit's
// multislerp takes it apart as base_tensor: the same bytes as not listing it.
func TestMultislerpListedBase(t *testing.T) {
	m := newMKModels(t, 2, true)
	a, b := outDir(t), outDir(t)
	runJob(t, mkRecipe("multislerp", m.base, "", m.models, nil), a, 1, 0, 0)
	runJob(t, mkRecipe("multislerp", m.base, "", append([]string{m.base}, m.models...), nil), b, 1, 0, 0)
	ta := readTensors(t, a)
	for name, tb := range readTensors(t, b) {
		if string(tb.Raw) != string(ta[name].Raw) {
			t.Errorf("%s: listing the base changed the merge", name)
		}
	}
}
