package merge_test

import (
	"path/filepath"
	"testing"

	"github.com/potluck-hub/potluck/merge"
	"github.com/potluck-hub/potluck/safetensors"
)

// A merged value beyond the output dtype's range is an error naming the
// tensor and element, not a silent ±Inf in the output: f16's largest value
// is 65504, and 60000 + 2·30000 is past it.
func TestMergeOverflowIsAnError(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base")
	writeModel(t, base, map[string][]tensor{"model.safetensors": {
		{Name: "h", DType: safetensors.F16, Shape: []int64{3}, Vals: []float64{1, 60000, -2}},
	}})
	delta := filepath.Join(dir, "delta")
	writeDelta(t, delta, hashDir(t, base), map[string][]tensor{"model.safetensors": {
		{Name: "h", DType: safetensors.F16, Shape: []int64{3}, Vals: []float64{0.5, 30000, 0.25}},
	}})
	out := filepath.Join(dir, "merged")
	_, err := runRecipe(recipe{Method: "task_arithmetic", Base: base, Models: []string{delta}, Weights: []float64{2}}.yaml(), out)
	wantErr(t, err, merge.ErrOverflow, `"h"`, "element 1")
	checkNoOutput(t, out)
}
