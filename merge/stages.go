package merge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/potluck-hub/potluck"
)

// A multi-stage recipe (mergekit-multi) is a YAML stream of recipes, each
// named by a name field but the last, which may have none. A later stage
// names an earlier one's output as it names a model; the stages run each
// after those it reads, every output kept.

// Stage is one recipe of a multi-stage recipe.
type Stage struct {
	Name   string // "" for the final, unnamed stage
	Recipe *Recipe
	Needs  []string // the stages whose outputs it reads
}

// ParseStages decodes one or more YAML documents, each a recipe with an
// optional name, and returns them in the order they must run: each after
// the stages it reads, otherwise in document order.
func ParseStages(b []byte) ([]Stage, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var stages []Stage
	for i := 0; ; i++ {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrRecipe, err)
		}
		s, err := parseStage(&doc)
		if err != nil {
			if i > 0 || dec.Decode(&yaml.Node{}) != io.EOF {
				err = within(fmt.Sprintf("stage %d", i+1), err)
			}
			return nil, err
		}
		stages = append(stages, s)
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("%w: the recipe is empty", ErrRecipe)
	}
	return order(stages)
}

// parseStage takes a document's name out and parses the rest as a recipe.
func parseStage(doc *yaml.Node) (Stage, error) {
	var s Stage
	if m := doc.Content; len(m) == 1 && m[0].Kind == yaml.MappingNode {
		for i := 0; i+1 < len(m[0].Content); i += 2 {
			if m[0].Content[i].Value == "name" {
				s.Name = m[0].Content[i+1].Value
				m[0].Content = slices.Delete(m[0].Content, i, i+2)
				break
			}
		}
	}
	b, err := yaml.Marshal(doc)
	if err != nil {
		return s, err
	}
	s.Recipe, err = ParseRecipe(b)
	return s, err
}

// order checks the names and puts every stage after those it reads.
func order(stages []Stage) ([]Stage, error) {
	byName := map[string]int{}
	for i, s := range stages {
		if _, dup := byName[s.Name]; dup {
			if s.Name == "" {
				return nil, fmt.Errorf("%w: two stages have no name; only the final one may go without", ErrRecipe)
			}
			return nil, fmt.Errorf("%w: two stages are named %q", ErrRecipe, s.Name)
		}
		byName[s.Name] = i
	}
	for i, s := range stages {
		for _, ref := range append([]string{s.Recipe.BaseModel}, s.Recipe.References()...) {
			model, _, _ := strings.Cut(ref, "+")
			if _, ok := byName[model]; ok && model != "" && !slices.Contains(s.Needs, model) {
				stages[i].Needs = append(stages[i].Needs, model)
			}
		}
	}
	var out []Stage
	state := map[string]int{} // 1: being placed, 2: placed
	var place func(s Stage) error
	place = func(s Stage) error {
		switch state[s.Name] {
		case 1:
			return fmt.Errorf("%w: stage %q reads its own output, through the stages it reads", ErrRecipe, s.Name)
		case 2:
			return nil
		}
		state[s.Name] = 1
		for _, n := range s.Needs {
			if err := place(stages[byName[n]]); err != nil {
				return err
			}
		}
		state[s.Name] = 2
		out = append(out, s)
		return nil
	}
	for _, s := range stages {
		if err := place(s); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// StageRun says where RunStages writes each stage and how it opens and
// runs its recipe.
type StageRun struct {
	Out string // the unnamed stage's output
	Dir string // named stages' outputs go to Dir/NAME
	// Lazy keeps a stage's output that is already there (a config.json and
	// weights) instead of running the stage again.
	Lazy bool
	Open OpenOptions // Named gets the stages' outputs
	// Setup, when set, gives each stage's job its options before it runs.
	Setup func(s Stage, j *Job)
}

// StageOutput is where a stage's output is, and its manifest when it ran
// (nil when Lazy kept an output already there).
type StageOutput struct {
	Stage    Stage
	Dir      string
	Manifest *potluck.Manifest
}

// RunStages runs the stages in order, each reading the outputs of those
// before it by name.
func RunStages(ctx context.Context, stages []Stage, o StageRun) ([]StageOutput, error) {
	named := map[string]string{}
	var out []StageOutput
	for _, s := range stages {
		dir := o.Out
		if s.Name != "" {
			dir = filepath.Join(o.Dir, s.Name)
		}
		res := StageOutput{Stage: s, Dir: dir}
		if !o.Lazy || !modelThere(dir) {
			open := o.Open
			open.Named = named
			var err error
			if res.Manifest, err = runStage(ctx, s, dir, open, o.Setup); err != nil {
				return out, stageErr(s, err)
			}
		}
		named[s.Name] = dir
		out = append(out, res)
	}
	return out, nil
}

func runStage(ctx context.Context, s Stage, dir string, open OpenOptions, setup func(Stage, *Job)) (*potluck.Manifest, error) {
	job, err := OpenWith(ctx, s.Recipe, open)
	if err != nil {
		return nil, err
	}
	defer job.Close()
	if setup != nil {
		setup(s, job)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	return Run(ctx, job, dir)
}

func stageErr(s Stage, err error) error {
	if s.Name == "" {
		return within("final stage", err)
	}
	return within(fmt.Sprintf("stage %q", s.Name), err)
}

// modelThere reports whether dir holds a model: mergekit's test of a
// stage's output.
func modelThere(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, configFile)); err != nil {
		return false
	}
	for _, f := range []string{"model.safetensors", "model.safetensors.index.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return true
		}
	}
	return false
}
