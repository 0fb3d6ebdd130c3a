package merge_test

import (
	"fmt"
	"log"

	"github.com/potluck-hub/potluck/merge"
)

// Parse a mergekit-style recipe. Every field, method and parameter is
// checked before any model is opened; merge.OpenLocal then opens the
// directories it names and merge.Run writes the merged model:
//
//	job, err := merge.OpenLocal(recipe)
//	...
//	defer job.Close()
//	manifest, err := merge.Run(ctx, job, "merged")
func ExampleParseRecipe() {
	recipe, err := merge.ParseRecipe([]byte(`
merge_method: task_arithmetic
base_model: ./llama-base
parameters:
  lambda: 0.7
models:
  - model: ./deltas/math
    parameters:
      weight: 1.0
  - model: ./deltas/code
    parameters:
      weight: 0.5
  - model: ./deltas/chat
`))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(recipe.MergeMethod, "over", recipe.BaseModel)
	for i, m := range recipe.Models {
		fmt.Printf("%s weight %g\n", m.Model, recipe.Weight(i))
	}

	_, err = merge.ParseRecipe([]byte("merge_method: ties\nbase_model: ./llama-base\nmodels: [{model: ./deltas/math, parameters: {density: 1.5}}]\n"))
	fmt.Println(err)
	// Output:
	// task_arithmetic over ./llama-base
	// ./deltas/math weight 1
	// ./deltas/code weight 0.5
	// ./deltas/chat weight 1
	// merge: bad recipe: models[0] (./deltas/math).parameters: parameter "density": must be in (0, 1], got 1.5
}
