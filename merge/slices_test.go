package merge_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// A frankenmerge: layers 0-5 of one 8-layer model, then layers 2-7 of
// another, give a model of 12 layers whose tensors are its sources'
// byte for byte, renumbered, the embeddings from the first slice's model
// and the final norm and lm_head from the last's.
func TestSlicesFrankenmerge(t *testing.T) {
	a, b := llama(t, "a", 1, tiny(8)), llama(t, "b", 2, tiny(8))
	out, man := merged(t, fmt.Sprintf(`merge_method: linear
slices:
  - sources:
      - model: %s
        layer_range: [0, 6]
  - sources:
      - model: %s
        layer_range: [2, 8]
`, a, b))
	got, ta, tb := readTensors(t, out), readTensors(t, a), readTensors(t, b)
	var want []string
	for name := range ta {
		l := layerOf(name)
		switch {
		case l < 0 && strings.Contains(name, "embed"):
			sameTensor(t, got, name, ta, name)
		case l < 0:
			sameTensor(t, got, name, tb, name)
		}
		if l < 0 {
			want = append(want, name)
			continue
		}
		for o := 0; o < 12; o++ {
			if l == 0 {
				want = append(want, withLayerIndex(name, o))
			}
		}
		if l < 6 {
			sameTensor(t, got, name, ta, name)
		}
		if l >= 2 {
			sameTensor(t, got, withLayerIndex(name, l+4), tb, name)
		}
	}
	slices.Sort(want)
	if g := keys(got); !slices.Equal(g, want) {
		t.Errorf("output tensors %v, want %v", g, want)
	}
	if cfg := readConfig(t, out); cfg["num_hidden_layers"] != 12.0 {
		t.Errorf("config num_hidden_layers %v, want 12", cfg["num_hidden_layers"])
	}
	rec := mustJSON(t, man.Merge.Recipe)
	src := rec["slices"].([]any)[1].(map[string]any)["sources"].([]any)[0].(map[string]any)
	if src["model"] != hashDir(t, b) || fmt.Sprint(src["layer_range"]) != "[2 8]" {
		t.Errorf("recorded slice source %v, want %s [2 8]", src, hashDir(t, b))
	}
}

// A gradient spreads over a slice's own layers: t: [0, 1] over four
// layers is 0 on the first (the base) and 1 on the last (the model).
func TestSlicesGradientOverSlice(t *testing.T) {
	a := llama(t, "a", 1, tiny(8))
	b := tuned(t, a, "b", 3)
	out, _ := merged(t, fmt.Sprintf(`merge_method: slerp
base_model: %[1]s
slices:
  - sources:
      - {model: %[1]s, layer_range: [0, 4]}
      - {model: %[2]s, layer_range: [0, 4]}
    parameters: {t: [0, 1]}
  - sources:
      - {model: %[1]s, layer_range: [4, 8]}
      - {model: %[2]s, layer_range: [4, 8]}
    parameters: {t: 1}
`, a, b))
	got, ta, tb := readTensors(t, out), readTensors(t, a), readTensors(t, b)
	for _, name := range []string{"self_attn.q_proj.weight", "mlp.up_proj.weight"} {
		sameTensor(t, got, "model.layers.0."+name, ta, "model.layers.0."+name)
		for _, l := range []int{3, 4, 7} {
			sameTensor(t, got, fmt.Sprintf("model.layers.%d.%s", l, name), tb, fmt.Sprintf("model.layers.%d.%s", l, name))
		}
	}
}

// mergekit's gradient-slerp.yml in its two forms, slices and models, gives
// the same model.
func TestSlicesEqualModels(t *testing.T) {
	a := llama(t, "orca", 1, tiny(8))
	b := tuned(t, a, "platypus", 4)
	params := `merge_method: slerp
base_model: %[1]s
parameters:
  t:
    - filter: self_attn
      value: [0, 0.5, 0.3, 0.7, 1]
    - filter: mlp
      value: [1, 0.5, 0.7, 0.3, 0]
    - value: 0.5
dtype: float16
`
	sliced, _ := merged(t, fmt.Sprintf(params+`slices:
  - sources:
      - model: %[1]s
        layer_range: [0, 8]
      - model: %[2]s
        layer_range: [0, 8]
`, a, b))
	whole, _ := merged(t, fmt.Sprintf(params+"models:\n  - model: %[1]s\n  - model: %[2]s\n", a, b))
	ts, tw := readTensors(t, sliced), readTensors(t, whole)
	if !slices.Equal(keys(ts), keys(tw)) {
		t.Fatalf("tensors %v and %v", keys(ts), keys(tw))
	}
	for name := range tw {
		sameTensor(t, ts, name, tw, name)
	}
}

// Parameters resolve as mergekit resolves them: a source's, else the
// slice's, else the recipe's; a slice's filter that matches nothing falls
// through to the recipe's value.
func TestSlicesParameters(t *testing.T) {
	c := llama(t, "c", 5, tiny(8))
	a := tuned(t, c, "a", 6)
	out, _ := merged(t, fmt.Sprintf(`merge_method: task_arithmetic
base_model: %[1]s
parameters: {weight: 1, lambda: 3}
slices:
  - sources:
      - {model: %[1]s, layer_range: [0, 4]}
      - {model: %[2]s, layer_range: [0, 4], parameters: {weight: 0.25}}
    parameters: {lambda: 2}
  - sources:
      - {model: %[1]s, layer_range: [4, 8]}
      - {model: %[2]s, layer_range: [4, 8]}
    parameters:
      weight: [{filter: mlp, value: 0.1}]
`, c, a))
	got, fc, fa := readTensors(t, out), floats(t, c), floats(t, a)
	for name, g := range got {
		if !g.DType.IsFloat() {
			continue
		}
		w, lambda := 0.25, 2.0
		if l := layerOf(name); l >= 4 || (l < 0 && !strings.Contains(name, "embed")) {
			w, lambda = 1, 3
			if strings.Contains(name, "mlp") {
				w = 0.1
			}
		}
		delta := make([]float64, len(fc[name]))
		for i := range delta {
			delta[i] = fa[name][i] - fc[name][i]
		}
		ref, mag := taskArithmetic(fc[name], lambda, []float64{w}, [][]float64{delta})
		checkValues(t, name, g.DType, g.Raw, ref, mag, taskOps(1)+2, true)
	}
}

// Slices that cannot run fail before any work, saying exactly why.
func TestSlicesRejects(t *testing.T) {
	a := llama(t, "a", 1, tiny(8))
	b := tuned(t, a, "b", 2)
	delta := filepath.Join(t.TempDir(), "delta")
	writeDelta(t, delta, hashDir(t, a), map[string][]tensor{"model.safetensors": {}})
	for _, tc := range []struct{ name, yaml, want string }{
		{"ranges of other lengths", "merge_method: linear\nslices:\n  - sources:\n      - {model: A, layer_range: [0, 4]}\n      - {model: B, layer_range: [0, 5]}\n",
			"merge: bad recipe: slices[0]: every source of a slice gives as many layers: sources[0] gives 4, sources[1] gives 5"},
		{"empty range", "merge_method: linear\nslices:\n  - sources:\n      - {model: A, layer_range: [4, 2]}\n",
			"merge: bad recipe: slices[0].sources[0] (A): layer_range must be [first, end] with 0 ≤ first < end, got [4 2]"},
		{"no sources", "merge_method: linear\nslices:\n  - sources: []\n", "merge: bad recipe: slices[0]: sources is empty"},
		{"base not a source", "merge_method: slerp\nbase_model: A\nparameters: {t: 0.5}\nslices:\n  - sources:\n      - {model: B, layer_range: [0, 8]}\n",
			"merge: bad recipe: slices[0]: base_model A is not among the slice's sources (slerp needs the base's layers)"},
		{"slerp of three", "merge_method: slerp\nbase_model: A\nparameters: {t: 0.5}\nslices:\n  - sources:\n      - {model: A, layer_range: [0, 8]}\n      - {model: B, layer_range: [0, 8]}\n      - {model: B, layer_range: [0, 8]}\n",
			"merge: bad recipe: slices[0]: slerp takes exactly 1 model(s) other than the base, the recipe lists 2"},
		{"past the layers", "merge_method: linear\nslices:\n  - sources:\n      - {model: A, layer_range: [4, 12]}\n",
			"merge: incompatible inputs: slices[0]: sources[0]: A has 8 layers; layer_range [4 12] reaches past them"},
		{"a delta as a source", "merge_method: linear\nslices:\n  - sources:\n      - {model: A, layer_range: [0, 8]}\n      - {model: D, layer_range: [0, 8]}\n",
			"merge: incompatible inputs: slices[0]: sources[1]: D is a delta or an adapter; slices take full models"},
		{"typo in a source's parameters", "merge_method: linear\nslices:\n  - sources:\n      - {model: A, layer_range: [0, 8], parameters: {wieght: 1}}\n",
			`merge: bad recipe: slices[0].sources[0] (A).parameters: parameter "wieght" is not supported by linear (it takes weight)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			y := strings.NewReplacer("A", a, "B", b, "D", delta).Replace(tc.yaml)
			out := outDir(t)
			_, err := runRecipe(y, out)
			if err == nil {
				t.Fatalf("got no error, want %q", tc.want)
			}
			if got := strings.NewReplacer(a, "A", b, "B", delta, "D").Replace(err.Error()); got != tc.want {
				t.Errorf("error:\n  %s\nwant:\n  %s", got, tc.want)
			}
			checkNoOutput(t, out)
		})
	}
}
