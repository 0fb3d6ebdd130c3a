package merge_test

import (
	"strings"
	"testing"

	"github.com/potluck-hub/potluck/merge"
)

// Recipes that cannot run fail before any work, naming what is wrong, and
// leave no output.
func TestRecipeRejects(t *testing.T) {
	f := newMethodFixture(t, 2, []float64{1})
	models := "models:\n  - model: " + f.deltas[0] + "\n  - model: " + f.deltas[1] + "\n"
	head := "base_model: " + f.base + "\n"
	for _, tc := range []struct {
		name, yaml string
		parts      []string
	}{
		{"density 0", "merge_method: ties\nparameters: {density: 0}\n", []string{`"density"`, "(0, 1]", "0"}},
		{"density above 1", "merge_method: dare_ties\nparameters: {density: 1.5}\n", []string{`"density"`, "1.5"}},
		{"negative density in a gradient", "merge_method: dare_linear\nparameters: {density: [0.5, -0.1]}\n", []string{`"density"`, "-0.1"}},
		{"density in a filter", "merge_method: breadcrumbs\nparameters:\n  density:\n    - {filter: mlp, value: 2}\n", []string{`"density"`, "2"}},
		{"parameter no method knows", "merge_method: task_arithmetic\nparameters: {gama: 0.1}\n", []string{`"gama"`}},
		{"global parameter per model", "merge_method: ties\nmodels:\n  - model: " + f.deltas[0] + "\n    parameters: {lambda: 2}\n", []string{`"lambda"`, "top-level"}},
		{"unknown enum", "merge_method: ties\nparameters: {consensus: majority}\n", []string{`"consensus"`, "majority"}},
		{"bool as a number", "merge_method: ties\nparameters: {normalize: 1}\n", []string{`"normalize"`}},
		{"slerp without t", "merge_method: slerp\nmodels:\n  - model: " + f.deltas[0] + "\n", []string{`"t"`}},
		{"slerp of two models", "merge_method: slerp\nparameters: {t: 0.5}\n", []string{"slerp", "exactly 1"}},
		{"model_stock of one", "merge_method: model_stock\nmodels:\n  - model: " + f.deltas[0] + "\n", []string{"model_stock", "at least 2"}},
		{"della epsilon too wide", "merge_method: della\nparameters: {density: 0.5, epsilon: 0.6}\n", []string{"epsilon", "density"}},
		{"krum with too few models", "merge_method: krum\nparameters: {f: 1}\n", []string{"krum", "f = 1"}},
		{"fedavg without samples", "merge_method: fedavg\n", []string{"fedavg", "sample"}},
		{"trimmed_mean beta", "merge_method: trimmed_mean\nparameters: {beta: 0.5}\n", []string{`"beta"`}},
		{"slices and models", "merge_method: linear\nslices: [{sources: []}]\n", []string{"gives both models and slices"}},
		{"tokenizer_source outside the merge", "merge_method: linear\ntokenizer_source: ./elsewhere\n", []string{"tokenizer source", "./elsewhere"}},
		{"filter without a value", "merge_method: linear\nparameters:\n  weight: [{filter: mlp}]\n", []string{`"weight"`, "value"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			y := head + tc.yaml
			if !strings.Contains(tc.yaml, "models:") {
				y += models
			}
			out := outDir(t)
			_, err := runRecipe(y, out)
			wantErr(t, err, merge.ErrRecipe, tc.parts...)
			checkNoOutput(t, out)
		})
	}
}

// Stages run each after those it reads; their mistakes are errors that
// say exactly what is wrong.
func TestParseStages(t *testing.T) {
	stages, err := merge.ParseStages([]byte("merge_method: linear\nmodels: [{model: b}, {model: ./x}]\n---\n" +
		"name: b\nmerge_method: linear\nmodels: [{model: a}]\n---\nname: a\nmerge_method: linear\nmodels: [{model: ./y}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, s := range stages {
		order = append(order, s.Name)
	}
	if len(order) != 3 || order[0] != "a" || order[1] != "b" || order[2] != "" {
		t.Errorf("stages run in the order %q, want a, b, then the unnamed one", order)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"name: a\nmerge_method: linear\nmodels: [{model: ./x}]\n---\nname: a\nmerge_method: linear\nmodels: [{model: ./y}]\n",
			`merge: bad recipe: two stages are named "a"`},
		{"merge_method: linear\nmodels: [{model: ./x}]\n---\nmerge_method: linear\nmodels: [{model: ./y}]\n",
			"merge: bad recipe: two stages have no name; only the final one may go without"},
		{"name: a\nmerge_method: linear\nmodels: [{model: b}]\n---\nname: b\nmerge_method: linear\nmodels: [{model: a+./lora}]\n",
			`merge: bad recipe: stage "a" reads its own output, through the stages it reads`},
		{"name: a\nmerge_method: linear\nmodels: [{model: ./x}]\n---\nname: b\nmerge_method: linaer\nmodels: [{model: a}]\n",
			`merge: bad recipe: stage 2: merge_method "linaer" is not supported (supported: ` + merge.MethodNames() + ")"},
		{"", "merge: bad recipe: the recipe is empty"},
	} {
		if _, err := merge.ParseStages([]byte(tc.yaml)); err == nil || err.Error() != tc.want {
			t.Errorf("error\n  %v\nwant\n  %s", err, tc.want)
		}
	}
}
