package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck/internal/testmodel"
	"github.com/potluck-hub/potluck/node"
)

// TestMergeRefusesDeltaAsBase: a delta directory given as base_model is
// refused, naming it, and nothing is written.
func TestMergeRefusesDeltaAsBase(t *testing.T) {
	f := newMergeFixture(t)
	delta := filepath.Join(f.dir, "delta")
	if _, err := node.MakeDelta(context.Background(), node.DeltaOptions{BaseDir: f.base, FinetunedDir: f.tuned[1], OutDir: delta, BaseCID: cidOf(t, f.base)}); err != nil {
		t.Fatal(err)
	}
	recipe := f.write(t, strings.Replace(taRecipe, "base_model: BASE", "base_model: "+delta, 1))
	out := filepath.Join(f.dir, "out")
	_, _, err := run(t, "merge", recipe, out)
	want := "merge: bad recipe: final stage: base_model " + delta + " is a delta (its potluck.json says kind: delta), not a model: give the model it was made from as base_model and list the delta under models"
	if err == nil || err.Error() != want {
		t.Fatalf("merge with a delta as base_model: %v\nwant %s", err, want)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("the refused merge wrote %s: %v", out, err)
	}
}

// TestMergeRecordsWeightGradient: a weight given over the layers is
// recorded whole in the hub's signed provenance of the merge, not as its
// first value (the merge's own manifest keeps the engine's bytes).
func TestMergeRecordsWeightGradient(t *testing.T) {
	g := newGroup(t)
	recipe := g.recipeOfA()
	b, err := os.ReadFile(recipe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(recipe, []byte(strings.Replace(string(b), "weight: 1\n", "weight: [0.2, 0.8]\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	merged := strings.TrimSpace(g.must("lab-a", "node", "merge", recipe))
	out := g.must("lab-a", "show", merged)
	if want := "input " + g.deltaA + " weight [0.2 0.8] (over the layers)"; !strings.Contains(out, want) {
		t.Fatalf("show printed:\n%s\nwant a line %q", out, want)
	}
}

// TestMergeLayoutAsTheREADMESays: a merge of a 2-shard base is written in
// shards of at most the shard size with an index, not in the base's shards.
func TestMergeLayoutAsTheREADMESays(t *testing.T) {
	dir := t.TempDir()
	base, tuned := filepath.Join(dir, "base"), filepath.Join(dir, "tuned")
	v := testmodel.Variant{Spec: testmodel.Spec{Layers: 2, Hidden: 16, Vocab: 32, Shards: 2}}
	if err := testmodel.WriteVariant(base, 1, v); err != nil {
		t.Fatal(err)
	}
	if err := testmodel.Perturb(base, tuned, 2, 0.05); err != nil {
		t.Fatal(err)
	}
	recipe := filepath.Join(dir, "recipe.yml")
	y := "merge_method: task_arithmetic\nbase_model: " + base + "\nmodels:\n  - model: " + tuned + "\n    parameters: {weight: 0.5}\n"
	if err := os.WriteFile(recipe, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if _, _, err := run(t, "merge", recipe, out); err != nil {
		t.Fatal(err)
	}
	var shards []string
	ents, _ := os.ReadDir(out)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".safetensors") {
			shards = append(shards, e.Name())
		}
	}
	if _, err := os.Stat(filepath.Join(out, "model.safetensors.index.json")); err != nil || len(shards) != 1 {
		t.Fatalf("a small merge of a 2-shard base: shards %v, index %v; the README says one shard under the shard size, and its index", shards, err)
	}
	if _, err := os.Stat(filepath.Join(out, "config.json")); err != nil {
		t.Errorf("no config copied: %v", err)
	}
}
