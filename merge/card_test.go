package merge_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/merge"
)

// The base's README is replaced by a model card made from the recipe with
// every model named by its CID (the same on a hub), and the recipe is
// written as mergekit_config.yml; the base's licence is kept.
func TestModelCard(t *testing.T) {
	base := llama(t, "base", 81, tiny(2))
	writeFile(t, filepath.Join(base, "README.md"), "# The base model\n")
	writeFile(t, filepath.Join(base, "LICENSE"), "Apache License 2.0, or so\n")
	a := tuned(t, base, "a", 82)
	out, _ := merged(t, fmt.Sprintf("merge_method: task_arithmetic\nbase_model: %s\nparameters:\n  lambda: 0.5\n  weight: [0, 1]\n"+
		"models:\n  - model: %s\n    parameters:\n      weight:\n        - {filter: mlp, value: 0.7}\n        - value: [0.1, 0.2]\n", base, a))
	recipe := fmt.Sprintf(`merge_method: task_arithmetic
base_model: %s
models:
  - model: %s
    parameters:
      weight:
        - filter: mlp
          value: 0.7
        - value: [0.1, 0.2]
parameters:
  lambda: 0.5
  weight: [0, 1]
`, hashDir(t, base), hashDir(t, a))
	card := fmt.Sprintf("---\nlibrary_name: transformers\ntags:\n- merge\n- mergekit\n- potluck\n---\n# task_arithmetic merge\n\n"+
		"This model is a merge of pre-trained language models, made by Potluck %s from a mergekit recipe.\n\n"+
		"## Method\n\n`task_arithmetic`, over the base `%s`.\n\n"+
		"## Models\n\nEvery model is named by its CID: the CID `ipfs add -r --cid-version=1` gives its directory.\n\n- `%s`\n\n"+
		"## Recipe\n\nThe recipe, as `mergekit_config.yml` holds it:\n\n```yaml\n%s```\n\n"+
		"## Verify\n\n`potluck.json` records every file and tensor of this directory with its SHA-256, and the recipe with every input by CID. "+
		"A merge is deterministic: the same recipe over the same inputs gives the same bytes, so anyone can check it:\n\n```sh\n"+
		"potluck verify DIR --key hub.pub          # signature, files and tensors against potluck.json\n"+
		"potluck verify --recompute CID --hub ADDR  # re-run the merge from its inputs and compare the CID\n"+
		"potluck cid DIR                           # this directory's CID\n```\n", potluck.Version, hashDir(t, base), hashDir(t, a), recipe)
	if got := readFile(t, out, "README.md"); got != card {
		t.Errorf("README.md:\n%s\nwant:\n%s", got, card)
	}
	if got := readFile(t, out, "mergekit_config.yml"); got != recipe {
		t.Errorf("mergekit_config.yml:\n%s\nwant:\n%s", got, recipe)
	}
	if got := readFile(t, out, "LICENSE"); got != "Apache License 2.0, or so\n" {
		t.Errorf("LICENSE %q, want the base's", got)
	}
}

// OutputOptions: no model card keeps the base's README; no tokenizer
// leaves the base's tokenizer files out.
func TestOutputOptions(t *testing.T) {
	base := llama(t, "base", 83, tiny(2))
	writeFile(t, filepath.Join(base, "README.md"), "# The base model\n")
	a := tuned(t, base, "a", 84)
	r, err := merge.ParseRecipe([]byte(fmt.Sprintf("merge_method: task_arithmetic\nbase_model: %s\nmodels:\n  - model: %s\n", base, a)))
	if err != nil {
		t.Fatal(err)
	}
	job, err := merge.OpenLocal(r)
	if err != nil {
		t.Fatal(err)
	}
	defer job.Close()
	job.Output = merge.OutputOptions{NoModelCard: true, NoTokenizer: true}
	out := outDir(t)
	if _, err := merge.Run(context.Background(), job, out); err != nil {
		t.Fatal(err)
	}
	files, _ := os.ReadDir(out)
	var got []string
	for _, f := range files {
		got = append(got, f.Name())
	}
	if want := []string{"README.md", "config.json", "model.safetensors", "model.safetensors.index.json", "potluck.json"}; !slices.Equal(got, want) {
		t.Errorf("output files %v, want %v", got, want)
	}
	if readFile(t, out, "README.md") != "# The base model\n" {
		t.Error("README.md is not the base's")
	}
}

// Parameters mergekit accepts but the method does not read are dropped
// with a warning naming them; a name no method reads is an error; an error
// always lists what the method takes.
func TestIgnoredParameters(t *testing.T) {
	base := llama(t, "base", 85, tiny(2))
	a := tuned(t, base, "a", 86)
	r, err := merge.ParseRecipe([]byte(fmt.Sprintf("merge_method: slerp\nbase_model: %s\nparameters: {t: 0.5, normalize: true}\n"+
		"models:\n  - model: %[1]s\n    parameters: {weight: 0.6}\n  - model: %s\n    parameters: {weight: 0.4, density: 0.5}\n", base, a)))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`parameters: parameter "normalize" is ignored: slerp does not read it (it takes clip, t)`,
		fmt.Sprintf(`models[0] (%s).parameters: parameter "weight" is ignored: slerp does not read it (it takes no per-model parameters; at top level: clip, t)`, base),
		fmt.Sprintf(`models[1] (%s).parameters: parameter "density" is ignored: slerp does not read it (it takes no per-model parameters; at top level: clip, t)`, a),
		fmt.Sprintf(`models[1] (%s).parameters: parameter "weight" is ignored: slerp does not read it (it takes no per-model parameters; at top level: clip, t)`, a),
	}
	if got := r.Warnings(); !slices.Equal(got, want) {
		t.Errorf("warnings:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	for _, tc := range []struct{ yaml, want string }{
		{"merge_method: ties\nparameters: {densty: 0.5}\nmodels:\n  - model: A\n",
			`merge: bad recipe: parameters: parameter "densty" is not supported by ties (it takes clip, consensus, density, int8_mask, lambda, normalize, rescale, weight)`},
		{"merge_method: model_stock\nmodels:\n  - model: A\n    parameters: {wieght: 1}\n  - model: B\n",
			`merge: bad recipe: models[0] (A).parameters: parameter "wieght" is not supported by model_stock (it takes no per-model parameters; at top level: clip, filter_wise)`},
		{"merge_method: ties\nmodels:\n  - model: A\n    parameters: {lambda: 2}\n",
			`merge: bad recipe: models[0] (A).parameters: parameter "lambda" is a top-level parameter, not a per-model one (per model, ties takes density, weight)`},
	} {
		_, err := merge.ParseRecipe([]byte("base_model: BASE\n" + tc.yaml))
		if err == nil || err.Error() != tc.want {
			t.Errorf("error\n  %v\nwant\n  %s", err, tc.want)
		}
	}
}
