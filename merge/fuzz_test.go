package merge_test

import (
	"testing"

	"github.com/potluck-hub/potluck/merge"
)

// FuzzParseRecipe: a recipe is user input (and, on a hub, a member's). The
// parser must never panic, and anything it accepts must pass Check again and
// have a canonical form.
func FuzzParseRecipe(f *testing.F) {
	f.Add([]byte("merge_method: task_arithmetic\nbase_model: b\nmodels:\n  - model: d\n    parameters: {weight: 0.5}\nparameters: {lambda: 2}\n"))
	f.Add([]byte("merge_method: linear\nbase_model: b\nmodels: [{model: a}, {model: c, parameters: {weight: -1}}]\nparameters: {normalize: false}\nout_dtype: bfloat16\n"))
	f.Add([]byte(`{"merge_method":"linear","base_model":"b","models":[{"model":"x"}]}`))
	f.Add([]byte("merge_method: [1, 2]\n"))
	f.Add([]byte("merge_method: ties\nbase_model: b\nparameters:\n  density: [{filter: mlp, value: [0.2, 0.9]}, {value: 0.5}]\n  consensus: paper\nmodels: [{model: a, parameters: {weight: [1, 0]}}]\n"))
	f.Add([]byte("merge_method: della\nbase_model: b\nparameters: {epsilon: 0.1, rescale_mode: paper, clip: 3}\nmodels: [{model: a}, {model: b}]\nseed: 9\n"))
	f.Add([]byte("merge_method: krum\nbase_model: b\nparameters: {f: 1, m: 2}\nmodels: [{model: a}]\nslices: []\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := merge.ParseRecipe(b)
		if err != nil {
			return
		}
		if err := r.Check(); err != nil {
			t.Fatalf("accepted recipe fails Check: %v", err)
		}
		if _, err := r.Canonical(); err != nil {
			t.Fatalf("accepted recipe has no canonical form: %v", err)
		}
		for i := range r.Models {
			if w := r.Weight(i); w != w {
				t.Fatalf("accepted recipe gives model %d a NaN weight", i)
			}
		}
	})
}
