package merge_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck/internal/testmodel"
	"github.com/potluck-hub/potluck/merge"
	"github.com/potluck-hub/potluck/safetensors"
)

// mergekit's tests/test_basic_merges.py, recipe for recipe, on small
// Llama-shaped models drawn independently (as its make_picollama does):
// every configuration of TestBasicMerges but the layer stack (slices)
// runs, in bfloat16, and gives every tensor of the base. Weights
// 0.6 and 0.4 go to every model, as its two_model_config gives them,
// also to methods that ignore them.
func TestMergekitBasicMerges(t *testing.T) {
	root := t.TempDir()
	spec := testmodel.Spec{Layers: 3, Hidden: 32, Vocab: 64, Shards: 1}
	dirs := map[string]string{}
	for i, name := range []string{"a", "b", "c"} {
		dirs[name] = filepath.Join(root, name)
		if err := testmodel.WriteBase(dirs[name], uint64(i+1), spec); err != nil {
			t.Fatal(err)
		}
	}
	two := func(method, a, b, base, params string) string {
		y := fmt.Sprintf("merge_method: %s\ndtype: bfloat16\nmodels:\n  - model: %s\n    parameters: {weight: 0.6}\n  - model: %s\n    parameters: {weight: 0.4}\n",
			method, dirs[a], dirs[b])
		if base != "" {
			y += "base_model: " + dirs[base] + "\n"
		}
		if params != "" {
			y += "parameters: {" + params + "}\n"
		}
		return y
	}
	cases := map[string]string{
		"copy":                 "merge_method: passthrough\ndtype: bfloat16\nmodels: [{model: " + dirs["a"] + "}]\n",
		"passthrough_scale":    "merge_method: passthrough\nmodels:\n  - model: " + dirs["a"] + "\n    parameters:\n      scale: [{filter: q_proj, value: 0}, {value: 1}]\n",
		"linear":               two("linear", "a", "b", "", ""),
		"slerp":                two("slerp", "a", "b", "a", "t: 0.35"),
		"task_arithmetic":      two("task_arithmetic", "a", "b", "c", ""),
		"breadcrumbs":          two("breadcrumbs", "a", "b", "c", ""),
		"ties":                 two("ties", "a", "b", "c", "density: 0.3"),
		"sce":                  two("sce", "a", "b", "c", "select_topk: 0.5"),
		"ram":                  two("ram", "a", "b", "c", ""),
		"ramplus_tl":           two("ramplus_tl", "a", "b", "c", "r: 0.05, alpha: 1.0"),
		"multislerp":           two("multislerp", "a", "b", "c", ""),
		"dare_ties":            two("dare_ties", "a", "b", "c", "density: 0.66"),
		"model_stock":          two("model_stock", "b", "c", "a", ""),
		"model_stock_filter":   two("model_stock", "b", "c", "a", "filter_wise: true"),
		"arcee_fusion":         two("arcee_fusion", "a", "b", "a", ""),
		"nearswap":             two("nearswap", "a", "b", "a", "t: 0.0001"),
		"della":                two("della", "a", "b", "c", "density: 0.66, epsilon: 0.05, lambda: 0.5"),
		"karcher":              two("karcher", "a", "b", "c", "max_iter: 5, tol: 1e-5"),
		"nuslerp_weights_zero": strings.Replace(two("nuslerp", "a", "b", "c", "nuslerp_row_wise: false, nuslerp_flatten: false"), "weight: 0.6", "weight: -0.5", 1),
	}
	for _, base := range []string{"", "c"} {
		for _, rowWise := range []bool{false, true} {
			for _, flatten := range []bool{false, true} {
				cases[fmt.Sprintf("nuslerp_%s_%v_%v", base, rowWise, flatten)] = two("nuslerp", "a", "b", base, fmt.Sprintf("nuslerp_row_wise: %v, nuslerp_flatten: %v", rowWise, flatten))
			}
		}
	}
	for name, y := range cases {
		t.Run(name, func(t *testing.T) {
			out := outDir(t)
			if _, err := runRecipe(y, out); err != nil {
				t.Fatal(err)
			}
			got := readTensors(t, out)
			for n, want := range readTensors(t, dirs["a"]) {
				g, ok := got[n]
				switch {
				case !ok:
					t.Errorf("%s: missing", n)
				case want.DType.IsFloat() && strings.Contains(y, "bfloat16") && g.DType != safetensors.BF16:
					t.Errorf("%s: %s, want BF16", n, g.DType)
				case name == "passthrough_scale" && strings.Contains(n, "q_proj"):
					for _, v := range decode(t, g.DType, g.Raw) {
						if v != 0 {
							t.Fatalf("%s: scale 0 left %v", n, v)
						}
					}
				}
			}
		})
	}
	t.Run("della_invalid_epsilon", func(t *testing.T) {
		out := outDir(t)
		_, err := runRecipe(two("della", "a", "b", "c", "density: 0.66, epsilon: 1.35, lambda: 0.5"), out)
		wantErr(t, err, merge.ErrRecipe, "epsilon")
	})
}
