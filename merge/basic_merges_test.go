package merge_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// The configs of mergekit's tests/test_basic_merges.py, on small
// Llama-shaped models (its Granite and LLaVA variants run the same
// recipes; its GPT-2 stack runs on a GPT-2-shaped model).

// twoModel is test_basic_merges' two_model_config: weights 0.6 and 0.4,
// bfloat16, the given base and top-level parameters.
func twoModel(method, a, b, base, params string) string {
	var s strings.Builder
	fmt.Fprintf(&s, "merge_method: %s\n", method)
	if base != "" {
		fmt.Fprintf(&s, "base_model: %s\n", base)
	}
	fmt.Fprintf(&s, "models:\n  - model: %s\n    parameters: {weight: 0.6}\n  - model: %s\n    parameters: {weight: 0.4}\ndtype: bfloat16\n", a, b)
	if params != "" {
		fmt.Fprintf(&s, "parameters: {%s}\n", params)
	}
	return s.String()
}

func TestMergekitBasicMergeConfigs(t *testing.T) {
	m := newExampleModels(t, 2)
	a, b, c := m.a, m.b, m.c
	like := func(base string) func(*testing.T, string) {
		return func(t *testing.T, out string) { checkLikeBase(t, out, base, "bfloat16") }
	}
	for _, tc := range []struct{ name, yaml, like string }{
		{"linear", twoModel("linear", a, b, "", ""), a},
		{"slerp", twoModel("slerp", a, b, a, "t: 0.35"), a},
		{"task_arithmetic", twoModel("task_arithmetic", a, b, c, ""), c},
		{"breadcrumbs", twoModel("breadcrumbs", a, b, c, ""), c},
		{"ties", twoModel("ties", a, b, c, "density: 0.3"), c},
		{"dare_ties", twoModel("dare_ties", a, b, c, "density: 0.66"), c},
		{"model_stock", twoModel("model_stock", b, c, a, ""), a},
		{"model_stock filter_wise", twoModel("model_stock", b, c, a, "filter_wise: true"), a},
		{"della", twoModel("della", a, b, c, "density: 0.66, epsilon: 0.05, lambda: 0.5"), c},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _ := merged(t, tc.yaml)
			like(tc.like)(t, out)
		})
	}
	for _, tc := range []struct{ name, method, yaml, like string }{
		{"granite copy", "passthrough", "merge_method: passthrough\nmodels:\n  - model: " + a + "\ndtype: bfloat16\n", a},
		{"sce", "sce", twoModel("sce", a, b, c, "select_topk: 0.5"), c},
		{"ram", "ram", twoModel("ram", a, b, c, ""), c},
		{"ramplus_tl", "ramplus_tl", twoModel("ramplus_tl", a, b, c, "r: 0.05, alpha: 1.0"), c},
		{"multislerp", "multislerp", twoModel("multislerp", a, b, c, ""), c},
		{"arcee_fusion", "arcee_fusion", twoModel("arcee_fusion", a, b, a, ""), a},
		{"nearswap", "nearswap", twoModel("nearswap", a, b, a, "t: 0.0001"), a},
		{"karcher", "karcher", twoModel("karcher", a, b, c, "max_iter: 5, tol: 1e-5"), c},
		{"nuslerp weights summing to 0", "nuslerp", strings.Replace(strings.Replace(twoModel("nuslerp", a, b, c,
			"nuslerp_row_wise: false, nuslerp_flatten: false"), "weight: 0.6", "weight: -0.5", 1), "weight: 0.4", "weight: 0.5", 1), c},
	} {
		t.Run(tc.name, func(t *testing.T) { checkMerge(t, tc.yaml, like(tc.like)) })
	}
	for _, base := range []string{"", c} {
		for _, rowWise := range []bool{false, true} {
			for _, flatten := range []bool{false, true} {
				t.Run(fmt.Sprintf("nuslerp base %v row_wise %v flatten %v", base != "", rowWise, flatten), func(t *testing.T) {
					y := twoModel("nuslerp", a, b, base, fmt.Sprintf("nuslerp_row_wise: %v, nuslerp_flatten: %v", rowWise, flatten))
					checkMerge(t, y, like(a))
				})
			}
		}
	}
	t.Run("passthrough scale", func(t *testing.T) {
		y := "merge_method: passthrough\nmodels:\n  - model: " + a + "\n    parameters:\n      scale:\n        - {filter: k_proj, value: 0}\n        - {value: 1}\n"
		checkMerge(t, y, func(t *testing.T, out string) {
			for name, v := range floats(t, out) {
				zero := !slices.ContainsFunc(v, func(x float64) bool { return x != 0 })
				if strings.Contains(name, "k_proj") != zero {
					t.Errorf("%s: all zero %v; only k_proj should be", name, zero)
				}
			}
		})
	})
	t.Run("della invalid epsilon", func(t *testing.T) {
		_, err := runRecipe(twoModel("della", a, b, c, "density: 0.66, epsilon: 1.35, lambda: 0.5"), outDir(t))
		if want := `merge: bad recipe: parameters: parameter "epsilon": must be in [0, 1), got 1.35`; err == nil || err.Error() != want {
			t.Errorf("error\n  %v\nwant\n  %s", err, want)
		}
	})
}

// test_gpt2_stack: a 4-layer GPT-2 used twice gives 8 layers and n_layer
// 8; linear of one model copies it, as passthrough does.
func TestMergekitGPT2Stack(t *testing.T) {
	v := tiny(4)
	v.GPT2 = true
	g := llama(t, "gpt2", 111, v)
	for _, method := range []string{"linear", "passthrough"} {
		t.Run(method, func(t *testing.T) {
			y := fmt.Sprintf("merge_method: %s\nslices:\n  - sources:\n      - {model: %[2]s, layer_range: [0, 4]}\n  - sources:\n      - {model: %[2]s, layer_range: [0, 4]}\ndtype: bfloat16\n", method, g)
			check := func(t *testing.T, out string) {
				got, in := readTensors(t, out), readTensors(t, g)
				for l := range 8 {
					name := fmt.Sprintf("transformer.h.%d.self_attn.q_proj.weight", l)
					sameTensor(t, got, name, in, fmt.Sprintf("transformer.h.%d.self_attn.q_proj.weight", l%4))
				}
				if cfg := readConfig(t, out); cfg["n_layer"] != 8.0 {
					t.Errorf("config n_layer %v, want 8", cfg["n_layer"])
				}
			}
			checkMerge(t, y, check)
		})
	}
}
