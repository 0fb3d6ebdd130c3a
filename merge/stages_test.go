package merge_test

import (
	"testing"

	"github.com/potluck-hub/potluck/merge"
)

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
