package merge_test

import (
	"fmt"
	"testing"

	"github.com/potluck-hub/potluck/merge"
)

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
