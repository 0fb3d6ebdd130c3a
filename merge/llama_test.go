package merge_test

// Helpers for the tests of recipes over small Llama-shaped models
// (internal/testmodel): slices, tokenizers, tied embeddings, mergekit's
// example recipes.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/internal/testmodel"
)

// tiny is a Llama-shaped model small enough to merge in milliseconds.
func tiny(layers int) testmodel.Variant {
	return testmodel.Variant{Spec: testmodel.Spec{Layers: layers, Hidden: 16, Vocab: 32, Shards: 1}}
}

// llama writes a model of variant v drawn from seed under the test's
// temporary directory and returns its path.
func llama(t testing.TB, name string, seed uint64, v testmodel.Variant) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := testmodel.WriteVariant(dir, seed, v); err != nil {
		t.Fatal(err)
	}
	return dir
}

// tuned writes base moved by a little noise drawn from seed.
func tuned(t testing.TB, base, name string, seed uint64) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := testmodel.Perturb(base, dir, seed, 0.05); err != nil {
		t.Fatal(err)
	}
	return dir
}

// merged runs the recipe text into a new directory and returns it.
func merged(t testing.TB, yaml string) (string, *potluck.Manifest) {
	t.Helper()
	out := outDir(t)
	man, err := runRecipe(yaml, out)
	if err != nil {
		t.Fatalf("merge: %v\nrecipe:\n%s", err, yaml)
	}
	return out, man
}

// floats reads every float tensor of the model in dir as float64 values.
func floats(t testing.TB, dir string) map[string][]float64 {
	t.Helper()
	out := map[string][]float64{}
	for name, tb := range readTensors(t, dir) {
		if tb.DType.IsFloat() {
			out[name] = decode(t, tb.DType, tb.Raw)
		}
	}
	return out
}

// readConfig decodes a model's config.json.
func readConfig(t testing.TB, dir string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	return mustJSON(t, b)
}

// sameTensor checks that tensor name of out has the bytes of tensor from
// of model dir.
func sameTensor(t testing.TB, out map[string]tensorBytes, name string, in map[string]tensorBytes, from string) {
	t.Helper()
	got, ok := out[name]
	want := in[from]
	switch {
	case !ok:
		t.Errorf("output has no tensor %s", name)
	case got.DType != want.DType || !slices.Equal(got.Shape, want.Shape) || string(got.Raw) != string(want.Raw):
		t.Errorf("tensor %s (%s %v) is not %s of its source (%s %v)", name, got.DType, got.Shape, from, want.DType, want.Shape)
	}
}

var layerName = regexp.MustCompile(`^model\.layers\.(\d+)\.`)

// layerOf is a Llama tensor's layer, or -1.
func layerOf(name string) int {
	m := layerName.FindStringSubmatch(name)
	if m == nil {
		return -1
	}
	l, _ := strconv.Atoi(m[1])
	return l
}

// withLayerIndex renames a Llama layer's tensor to layer l.
func withLayerIndex(name string, l int) string {
	return layerName.ReplaceAllString(name, fmt.Sprintf("model.layers.%d.", l))
}
