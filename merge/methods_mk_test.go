package merge_test

// Helpers for the tests of the methods mergekit has and Potluck added
// (nearswap, ram, ramplus_tl, sce, arcee_fusion, nuslerp, multislerp,
// karcher): models as mergekit takes them, recipes, and the runs that must
// give the same bytes. Each method's float64 reference, written from
// mergekit's source and not from the code under test, is in its own test
// file.

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck/merge"
	"github.com/potluck-hub/potluck/merge/kernel"
	"github.com/potluck-hub/potluck/safetensors"
)

// mkModels is a base and n models: as delta releases of the base, or when
// full as full models (θ₀ + δ rounded to each tensor's dtype). thetas[i]
// holds model i's values, exactly as stored (θ₀ + δ exactly for a delta).
type mkModels struct {
	*methodFixture
	models []string
	thetas []map[string][]float64
}

func newMKModels(t *testing.T, n int, full bool, scales ...float64) *mkModels {
	t.Helper()
	if scales == nil {
		scales = []float64{1}
	}
	f := newMethodFixture(t, n, scales)
	m := &mkModels{methodFixture: f}
	for i := range n {
		th := map[string][]float64{}
		var ts []tensor
		for _, bt := range f.tensors {
			d := f.deltaVals(bt.Name, len(bt.Vals))[i]
			v := make([]float64, len(d))
			for e := range v {
				v[e] = bt.Vals[e] + d[e]
				if full {
					v[e] = roundTo(t, bt.DType, v[e])
				}
			}
			th[bt.Name] = v
			ts = append(ts, tensor{Name: bt.Name, DType: bt.DType, Shape: bt.Shape, Vals: v})
		}
		dir := f.deltas[i]
		if full {
			dir = filepath.Join(t.TempDir(), fmt.Sprint("full", i))
			writeModel(t, dir, map[string][]tensor{"model.safetensors": ts})
		}
		m.models, m.thetas = append(m.models, dir), append(m.thetas, th)
	}
	return m
}

// baseVals is the base's values of a tensor, as every model's are.
func (m *mkModels) baseVals() map[string][]float64 {
	out := map[string][]float64{}
	for _, bt := range m.tensors {
		out[bt.Name] = bt.Vals
	}
	return out
}

// mkRecipe writes a recipe: base_model unless it is "", then the models
// with their parameters (per[i], a flow map, or none).
func mkRecipe(method, base, global string, models []string, per []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "merge_method: %s\nseed: 7\n", method)
	if base != "" {
		fmt.Fprintf(&b, "base_model: %q\n", base)
	}
	if global != "" {
		b.WriteString("parameters:\n")
		for _, l := range strings.Split(global, "\n") {
			fmt.Fprintf(&b, "  %s\n", l)
		}
	}
	b.WriteString("models:\n")
	for i, d := range models {
		fmt.Fprintf(&b, "  - model: %q\n", d)
		if i < len(per) && per[i] != "" {
			fmt.Fprintf(&b, "    parameters: %s\n", per[i])
		}
	}
	return b.String()
}

// mkCheck runs a recipe and checks every float tensor against ref (the
// reference's values and magnitude bound, by tensor) at ops roundings
// (checkValues).
func mkCheck(t *testing.T, m *mkModels, yaml string, ops int, ref func(bt tensor, pos float64) (want, mag []float64)) {
	t.Helper()
	out := outDir(t)
	runJob(t, yaml, out, 1, 0, 0)
	got := readTensors(t, out)
	for k, bt := range m.tensors {
		want, mag := ref(bt, methodTensors[k].pos)
		checkTensor(t, got, bt.Name, bt.DType, bt.Shape, single)
		if bad := checkValues(t, bt.Name, bt.DType, got[bt.Name].Raw, want, mag, ops, true); bad > 0 {
			t.Errorf("%s: %d of %d elements off", bt.Name, bad, len(want))
		}
		ulps, share := worstError(t, bt.DType, got[bt.Name].Raw, want, mag, ops)
		t.Logf("%s (%s): at most %.3g ulp of the output dtype from the rounded reference, %.3g of the bound", bt.Name, bt.DType, ulps, share)
	}
}

// worstError is the largest distance of an output from its rounded
// reference, in ulps of the output dtype and as a share of checkValues'
// bound (infinite bounds left out).
func worstError(t *testing.T, dt safetensors.DType, raw []byte, ref, mag []float64, ops int) (ulps, share float64) {
	got := decode(t, dt, raw)
	for i := range ref {
		if math.IsInf(mag[i], 0) {
			continue
		}
		want := roundTo(t, dt, ref[i])
		u := ulp(t, dt, max(math.Abs(want), math.Abs(got[i])))
		d := math.Abs(got[i] - want)
		ulps = max(ulps, d/u)
		share = max(share, d/(u+float64(ops+1)*math.Ldexp(mag[i], -24)))
	}
	return ulps, share
}

// withBigTensor adds a tensor of many 64-element chunks to the fixtures
// made until the returned function is called.
func withBigTensor() (restore func()) {
	prev := methodTensors
	methodTensors = append(slices.Clip(methodTensors), methodTensor{"model.layers.1.self_attn.q_proj.weight", safetensors.BF16, []int64{32, 40}, 1})
	return func() { methodTensors = prev }
}

// mkSameBytes runs a recipe four ways that must give the same bytes: one
// worker; four with 64-element chunks and 192-element segments; the
// general path in place of the fused one; the generic kernels.
func mkSameBytes(t *testing.T, yaml string) {
	t.Helper()
	a, b, c, d := outDir(t), outDir(t), outDir(t), outDir(t)
	runJob(t, yaml, a, 1, 0, 0)
	runJob(t, yaml, b, 4, 64, 0)
	compareOutputs(t, a, b, "1 worker and 4 workers with 64-element chunks and 192-element segments")
	restore := merge.DisableFused()
	runJob(t, yaml, c, 1, 0, 0)
	restore()
	compareOutputs(t, a, c, "the fused path and the general path")
	restore = kernel.ForceGeneric()
	runJob(t, yaml, d, 4, 64, 0)
	restore()
	compareOutputs(t, a, d, "the SIMD kernels ("+kernel.Implementation()+") and the generic ones")
}

// Recipes for mergekit's methods that mergekit refuses, or that Potluck
// cannot run as mergekit would, fail before any work with the method and
// the reason named, and leave no output.
func TestMergekitMethodsReject(t *testing.T) {
	m := newMKModels(t, 3, true)
	b, x, y, z := m.base, m.models[0], m.models[1], m.models[2]
	list := func(ms ...string) string {
		s := "models:\n"
		for _, d := range ms {
			s += fmt.Sprintf("  - model: %q\n", d)
		}
		return s
	}
	base := fmt.Sprintf("base_model: %q\n", b)
	for _, tc := range []struct {
		name, yaml string
		parts      []string
	}{
		{"nuslerp beside a listed base", "merge_method: nuslerp\n" + base + list(b, x), []string{"nuslerp", "base model cannot be one of the two"}},
		{"nuslerp of three", "merge_method: nuslerp\n" + base + list(x, y, z), []string{"nuslerp", "exactly two models", "3"}},
		{"nuslerp of one, no base", "merge_method: nuslerp\n" + list(x), []string{"nuslerp", "at least 1"}},
		{"nearswap of two", "merge_method: nearswap\nparameters: {t: 0.1}\n" + base + list(x, y), []string{"nearswap", "exactly 1"}},
		{"nearswap without t", "merge_method: nearswap\n" + base + list(x), []string{`"t"`}},
		{"arcee_fusion of two", "merge_method: arcee_fusion\n" + base + list(x, y), []string{"arcee_fusion", "exactly 1"}},
		{"ties without base_model", "merge_method: ties\n" + list(x, y), []string{"base_model is required"}},
		{"sce without base_model", "merge_method: sce\n" + list(x, y), []string{"base_model is required"}},
		{"karcher of the base alone", "merge_method: karcher\n" + list(x), []string{"karcher", "at least 1"}},
		{"multislerp weights summing to 0", "merge_method: multislerp\n" + base + "models:\n  - {model: " + x + ", parameters: {weight: 1}}\n  - {model: " + y + ", parameters: {weight: -1}}\n", []string{"multislerp", "sum to 0"}},
		{"karcher max_iter", "merge_method: karcher\nparameters: {max_iter: 2.5}\n" + base + list(x), []string{`"max_iter"`, "whole"}},
		{"passthrough of a full model beside a base", "merge_method: passthrough\n" + base + list(x), []string{"passthrough", "full model other than base_model"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := outDir(t)
			_, err := runRecipe(tc.yaml, out)
			wantErr(t, err, merge.ErrRecipe, tc.parts...)
			checkNoOutput(t, out)
		})
	}
}
