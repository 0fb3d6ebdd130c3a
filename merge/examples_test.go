package merge_test

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// checkMerge runs a recipe and checks its output with check.
func checkMerge(t *testing.T, yaml string, check func(t *testing.T, out string)) {
	t.Helper()
	out, _ := merged(t, yaml)
	check(t, out)
}

// exampleModels are the models mergekit's examples name, as small local
// models: a base and fine-tunes of it.
type exampleModels struct{ base, a, b, c string }

func newExampleModels(t *testing.T, layers int) exampleModels {
	base := llama(t, "base", 101, tiny(layers))
	return exampleModels{base, tuned(t, base, "a", 102), tuned(t, base, "b", 103), tuned(t, base, "c", 104)}
}

func (m exampleModels) yaml(s string) string {
	return strings.NewReplacer("BASE", m.base, "MODEL_A", m.a, "MODEL_B", m.b, "MODEL_C", m.c).Replace(s)
}

// checkLikeBase checks what mergekit's run_and_check_merge checks: the
// output has the base's tensors (in dtype, when given), all finite, and a
// config.
func checkLikeBase(t *testing.T, out, base, dtype string) {
	t.Helper()
	got, want := readTensors(t, out), readTensors(t, base)
	if !slices.Equal(keys(got), keys(want)) {
		t.Fatalf("output tensors %v, want the base's %v", keys(got), keys(want))
	}
	for name, g := range got {
		if d := map[string]string{"float16": "F16", "bfloat16": "BF16", "float32": "F32"}[dtype]; g.DType.IsFloat() && d != "" && string(g.DType) != d {
			t.Errorf("%s is %s, want %s", name, g.DType, d)
		}
		if g.DType.IsFloat() && slices.ContainsFunc(decode(t, g.DType, g.Raw), func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }) {
			t.Errorf("%s has a value that is not finite", name)
		}
	}
	if cfg := readConfig(t, out); dtype != "" && cfg["torch_dtype"] != dtype {
		t.Errorf("config torch_dtype %v, want %s", cfg["torch_dtype"], dtype)
	}
}

// mergekit's examples/*.yml, their models local.
func TestMergekitExamples(t *testing.T) {
	m := newExampleModels(t, 8)
	t.Run("linear.yml", func(t *testing.T) {
		out, _ := merged(t, m.yaml(`models:
  - model: MODEL_A
    parameters:
      weight: 1.0
  - model: MODEL_B
    parameters:
      weight: 0.3
  - model: MODEL_C
    parameters:
      weight: 0.5
merge_method: linear
dtype: float16
`))
		checkLikeBase(t, out, m.a, "float16")
		got, fa, fb, fc := readTensors(t, out), floats(t, m.a), floats(t, m.b), floats(t, m.c)
		name := "model.layers.3.mlp.up_proj.weight"
		deltas := [][]float64{make([]float64, len(fa[name])), make([]float64, len(fa[name])), make([]float64, len(fa[name]))}
		for i := range fa[name] {
			deltas[1][i], deltas[2][i] = fb[name][i]-fa[name][i], fc[name][i]-fa[name][i]
		}
		ref, mag := linear(fa[name], []float64{1, 0.3, 0.5}, true, deltas)
		checkValues(t, name, got[name].DType, got[name].Raw, ref, mag, linearOps(3)+2, true)
	})
	t.Run("ties.yml", func(t *testing.T) {
		out, _ := merged(t, m.yaml(`models:
  - model: MODEL_A
    parameters:
      density: [1, 0.7, 0.1] # density gradient
      weight: 1.0
  - model: MODEL_B
    parameters:
      density: 0.5
      weight: [0, 0.3, 0.7, 1] # weight gradient
  - model: MODEL_C
    parameters:
      density: 0.33
      weight:
        - filter: mlp
          value: 0.5
        - value: 0
merge_method: ties
base_model: BASE
parameters:
  normalize: true
  int8_mask: true
dtype: float16
`))
		checkLikeBase(t, out, m.base, "float16")
	})
	t.Run("bio-merge.yml", func(t *testing.T) {
		out, _ := merged(t, m.yaml(`models:
  - model: MODEL_A
    parameters:
      density: 0.5
      weight: 0.5
  - model: MODEL_B
    parameters:
      density: 0.5
      weight: 0.5
merge_method: ties
base_model: BASE
parameters:
  normalize: false
  int8_mask: true
dtype: float16
`))
		checkLikeBase(t, out, m.base, "float16")
	})
	t.Run("gradient-slerp.yml", func(t *testing.T) {
		out, _ := merged(t, m.yaml(`slices:
  - sources:
      - model: MODEL_A
        layer_range: [0, 8]
      - model: MODEL_B
        layer_range: [0, 8]
merge_method: slerp
base_model: MODEL_A
parameters:
  t:
    - filter: self_attn
      value: [0, 0.5, 0.3, 0.7, 1]
    - filter: mlp
      value: [1, 0.5, 0.7, 0.3, 0]
    - value: 0.5 # fallback for rest of tensors
dtype: float16
`))
		checkLikeBase(t, out, m.a, "float16")
	})
	t.Run("orcamini-platy-44layer.yml", func(t *testing.T) {
		checkMerge(t, m.yaml(`slices:
  - sources:
    - model: MODEL_A
      layer_range: [0, 5]
  - sources:
    - model: MODEL_B
      layer_range: [3, 8]
merge_method: passthrough
`), func(t *testing.T, out string) { checkStacked(t, out, m.a, m.b, 5, 3, 8) })
	})
	t.Run("arcee_fusion.yml", func(t *testing.T) {
		checkMerge(t, m.yaml("models:\n  - model: MODEL_A\n  - model: MODEL_B\nmerge_method: arcee_fusion\nbase_model: MODEL_A\ndtype: bfloat16\n"),
			func(t *testing.T, out string) { checkLikeBase(t, out, m.a, "bfloat16") })
	})
}

// checkStacked checks a frankenmerge of layers [0, n) of a and [from, to)
// of b: every tensor its source's, renumbered, and the layer count.
func checkStacked(t *testing.T, out, a, b string, n, from, to int) {
	t.Helper()
	got, ta, tb := readTensors(t, out), readTensors(t, a), readTensors(t, b)
	for name := range ta {
		switch l := layerOf(name); {
		case l >= 0 && l < n:
			sameTensor(t, got, name, ta, name)
		case l < 0 && strings.Contains(name, "embed"):
			sameTensor(t, got, name, ta, name)
		case l < 0:
			sameTensor(t, got, name, tb, name)
		}
	}
	for l := from; l < to; l++ {
		for name := range tb {
			if layerOf(name) == l {
				sameTensor(t, got, withLayerIndex(name, n+l-from), tb, name)
			}
		}
	}
	if cfg := readConfig(t, out); cfg["num_hidden_layers"] != float64(n+to-from) {
		t.Errorf("config num_hidden_layers %v, want %d", cfg["num_hidden_layers"], n+to-from)
	}
}
