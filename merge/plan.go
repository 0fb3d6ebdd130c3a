package merge

import (
	"context"
	"fmt"
	"math"
)

// plan is a checked merge: the recipe and its method, the inputs opened
// and checked against the base, and every float tensor's parameters
// resolved. Nothing changes it once newPlan has made it: runs (run.go)
// read it from any number of goroutines.
type plan struct {
	recipe *Recipe
	m      method
	base   *Model
	inputs []*input                 // the models the method combines
	params map[string]*tensorParams // per float base tensor
	global *globalParams            // merge-wide parameters
	keep   []bool                   // krum: the inputs selected; nil: all
}

// newPlan checks the job's recipe and inputs, resolves every parameter for
// every tensor and, for krum, selects the inputs it keeps.
func newPlan(ctx context.Context, j *Job) (*plan, error) {
	if err := j.Recipe.Check(); err != nil {
		return nil, err
	}
	if len(j.Deltas) != len(j.Recipe.Models) || len(j.DeltaCIDs) != len(j.Deltas) {
		return nil, fmt.Errorf("merge: %d deltas and %d CIDs for %d recipe models", len(j.Deltas), len(j.DeltaCIDs), len(j.Recipe.Models))
	}
	p := &plan{recipe: j.Recipe, m: methods[j.Recipe.MergeMethod], base: j.Base}
	var err error
	if p.inputs, err = openInputs(j, p.m.fam == famLinear); err != nil {
		return nil, err
	}
	if p.global, err = p.resolveGlobal(); err != nil {
		return nil, err
	}
	names := j.Base.Names()
	pos := layerPositions(names)
	p.params = map[string]*tensorParams{}
	for _, name := range names {
		if t, _ := j.Base.Tensor(name); !t.DType.IsFloat() {
			continue
		}
		if p.params[name], err = p.resolve(name, pos[name]); err != nil {
			return nil, err
		}
	}
	if p.m.fam == famKrum {
		return p, p.selectKrum(ctx)
	}
	return p, nil
}

// openInputs classifies every recipe model. The base listed among the
// models is a zero delta when baseIsInput (linear) and is left out by the
// other methods, as mergekit does.
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

// skip reports whether input i takes no part in the merge (krum left it out).
func (p *plan) skip(i int) bool { return p.keep != nil && !p.keep[i] }

// seed is the recipe's seed for the random masks (0 when it sets none).
func (p *plan) seed() uint64 {
	if p.recipe.Seed != nil {
		return *p.recipe.Seed
	}
	return 0
}

// tensorParams are the recipe's parameters resolved for one tensor: per
// active input (weight, density, gamma, epsilon), and for the tensor.
type tensorParams struct {
	weight, density, gamma, epsilon []float64
	lambda, clip, t, beta           float64
	normalize, rescale              bool
}

// globalParams are the parameters that take one value for the whole merge.
type globalParams struct {
	consensusPaper bool // consensus: paper
	rescalePaper   bool // rescale_mode: paper
	filterWise     bool // model_stock
	f, m           int  // krum
	samples        []float64
}

// resolve evaluates every parameter for one tensor at layer position t and
// checks what only the resolved values can tell.
func (p *plan) resolve(name string, t float64) (*tensorParams, error) {
	r, m := p.recipe, p.m
	tp := &tensorParams{}
	num := func(param string, model int) (float64, error) {
		if _, ok := m.params[param]; !ok {
			return 0, nil
		}
		v := r.value(param, model, name, t)
		f, ok := toFloat(v)
		if !ok {
			return 0, fmt.Errorf("%w: tensor %q: no value for parameter %q (no filter matches and there is no default)", ErrRecipe, name, param)
		}
		return f, nil
	}
	var err error
	for _, in := range p.inputs {
		vals := make([]float64, 4)
		for k, param := range []string{"weight", "density", "gamma", "epsilon"} {
			if vals[k], err = num(param, in.index); err != nil {
				return nil, err
			}
		}
		tp.weight, tp.density = append(tp.weight, vals[0]), append(tp.density, vals[1])
		tp.gamma, tp.epsilon = append(tp.gamma, vals[2]), append(tp.epsilon, vals[3])
	}
	for _, s := range []struct {
		param string
		dst   *float64
	}{{"lambda", &tp.lambda}, {"clip", &tp.clip}, {"t", &tp.t}, {"beta", &tp.beta}} {
		if *s.dst, err = num(s.param, -1); err != nil {
			return nil, err
		}
	}
	tp.normalize, _ = r.value("normalize", -1, name, t).(bool)
	tp.rescale, _ = r.value("rescale", -1, name, t).(bool)
	return tp, p.checkResolved(name, tp)
}

// checkResolved checks the constraints between resolved values.
func (p *plan) checkResolved(name string, tp *tensorParams) error {
	m := p.m
	if m.sparsify == spDella {
		for i, d := range tp.density {
			if e := tp.epsilon[i]; d < 1 && (d-e <= 0 || d+e >= 1) {
				return fmt.Errorf("%w: tensor %q: models[%d]: density %v ± epsilon %v must stay inside (0, 1)", ErrRecipe, name, p.inputs[i].index, d, e)
			}
		}
	}
	if m.fam == famLinear && tp.normalize {
		var s float64
		for _, w := range tp.weight {
			s += w
		}
		if s == 0 {
			return fmt.Errorf("%w: tensor %q: linear with normalize: the weights sum to 0", ErrRecipe, name)
		}
	}
	return nil
}

// resolveGlobal evaluates the merge-wide parameters.
func (p *plan) resolveGlobal() (*globalParams, error) {
	r := p.recipe
	g := &globalParams{m: 1}
	g.consensusPaper = r.value("consensus", -1, "", 0) == "paper"
	g.rescalePaper = r.value("rescale_mode", -1, "", 0) == "paper"
	g.filterWise, _ = r.value("filter_wise", -1, "", 0).(bool)
	n := len(p.inputs)
	switch r.MergeMethod {
	case "krum":
		g.f = max(0, (n-3)/2)
		if f, ok := toFloat(r.value("f", -1, "", 0)); ok {
			g.f = int(f)
		}
		if f, ok := toFloat(r.value("m", -1, "", 0)); ok {
			g.m = int(f)
		}
		if n < 2*g.f+3 || g.m > n-g.f {
			return nil, fmt.Errorf("%w: krum with f = %d needs at least %d models (has %d), and m = %d at most n − f", ErrRecipe, g.f, 2*g.f+3, n, g.m)
		}
	case "fedavg":
		for _, in := range p.inputs {
			s, ok := toFloat(r.value("samples", in.index, "", 0))
			if !ok {
				s = in.samples
			}
			if !(s > 0) || math.IsInf(s, 0) {
				return nil, fmt.Errorf("%w: fedavg: models[%d] (%s) records no sample count: give it in its manifest or as parameter samples", ErrRecipe, in.index, in.model.Name)
			}
			g.samples = append(g.samples, s)
		}
	}
	return g, nil
}
