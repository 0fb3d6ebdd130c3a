package merge

import (
	"context"
	"fmt"
)

// plan is a checked merge, the recipe made concrete: its method, the
// inputs opened and checked against the base (for krum, only those it
// keeps), and one op per float tensor with every parameter resolved.
// Nothing changes it once newPlan has made it: runs (run.go) read it from
// any number of goroutines.
type plan struct {
	recipe *Recipe
	m      method
	base   *Model
	inputs []*input             // the models the method combines, in recipe order
	ops    map[string]*tensorOp // per float base tensor
	pos    map[string]float64   // each tensor's layer position, for gradients
	each   tensorPlanner        // the method's, for the merge's values
}

// newPlan checks the job's recipe and inputs, resolves every parameter for
// every tensor and, when the method chooses its inputs (krum), chooses
// them.
func newPlan(ctx context.Context, j *Job) (*plan, error) {
	if err := j.Recipe.Check(); err != nil {
		return nil, err
	}
	if n := len(j.Recipe.References()); len(j.Deltas) != n || len(j.DeltaCIDs) != len(j.Deltas) {
		return nil, fmt.Errorf("merge: %d deltas and %d CIDs for %d recipe models", len(j.Deltas), len(j.DeltaCIDs), n)
	}
	p := &plan{recipe: j.Recipe, m: methods[j.Recipe.MergeMethod], base: j.Base}
	var err error
	if p.inputs, err = openInputs(j, p.m.baseIsInput || j.Recipe.BaseModel == ""); err != nil {
		return nil, err
	}
	if p.each, err = p.m.plan(&mergeScope{r: p.recipe, inputs: p.inputs}); err != nil {
		return nil, err
	}
	if j.sem, err = semanticsOf(j.Engine); err != nil {
		return nil, err
	}
	p.pos = j.sem.positions(j.Base.Names())
	if j.layerPos != nil {
		p.pos = j.layerPos // a slice's (parts.go)
	}
	if err := p.planTensors(); err != nil {
		return nil, err
	}
	if p.m.choose == nil {
		return p, nil
	}
	keep, err := p.m.choose(ctx, p)
	if err != nil {
		return nil, err
	}
	return p.only(keep)
}

// planTensors makes every float tensor's op for the plan's inputs.
func (p *plan) planTensors() error {
	p.ops = map[string]*tensorOp{}
	ms := &mergeScope{r: p.recipe, inputs: p.inputs}
	for _, name := range p.base.Names() {
		if t, _ := p.base.Tensor(name); !t.DType.IsFloat() {
			continue
		}
		op, err := p.each(&tensorScope{mergeScope: ms, name: name, pos: p.pos[name]})
		if err != nil {
			return err
		}
		p.ops[name] = op
	}
	return nil
}

// only returns the plan made again for the inputs keep marks.
func (p *plan) only(keep []bool) (*plan, error) {
	q := *p
	q.inputs = nil
	for i, in := range p.inputs {
		if keep[i] {
			q.inputs = append(q.inputs, in)
		}
	}
	return &q, q.planTensors()
}

// openInputs classifies every recipe model. The base listed among the
// models is a zero delta when baseIsInput and is left out otherwise.
func openInputs(j *Job, baseIsInput bool) ([]*input, error) {
	var inputs []*input
	for i, d := range j.Deltas {
		if j.DeltaCIDs[i] == j.BaseCID {
			if baseIsInput {
				inputs = append(inputs, &input{index: i, kind: inBase, model: d})
			}
			continue
		}
		in, err := openInput(j.Base, j.BaseCID, d, i)
		if err != nil {
			return nil, fmt.Errorf("merge: models[%d]: %w", i, err)
		}
		inputs = append(inputs, in)
	}
	if len(inputs) == 0 {
		return nil, fmt.Errorf("%w: every model is the base itself", ErrRecipe)
	}
	return inputs, nil
}
