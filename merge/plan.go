package merge

import (
	"fmt"
	"math"
)

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
func (j *Job) resolve(name string, t float64) (*tensorParams, error) {
	r, m := j.Recipe, methods[j.Recipe.MergeMethod]
	p := &tensorParams{}
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
	for _, in := range j.inputs {
		vals := make([]float64, 4)
		for k, param := range []string{"weight", "density", "gamma", "epsilon"} {
			if vals[k], err = num(param, in.index); err != nil {
				return nil, err
			}
		}
		p.weight, p.density = append(p.weight, vals[0]), append(p.density, vals[1])
		p.gamma, p.epsilon = append(p.gamma, vals[2]), append(p.epsilon, vals[3])
	}
	for _, s := range []struct {
		param string
		dst   *float64
	}{{"lambda", &p.lambda}, {"clip", &p.clip}, {"t", &p.t}, {"beta", &p.beta}} {
		if *s.dst, err = num(s.param, -1); err != nil {
			return nil, err
		}
	}
	p.normalize, _ = r.value("normalize", -1, name, t).(bool)
	p.rescale, _ = r.value("rescale", -1, name, t).(bool)
	return p, j.checkResolved(name, p)
}

// checkResolved checks the constraints between resolved values.
func (j *Job) checkResolved(name string, p *tensorParams) error {
	m := methods[j.Recipe.MergeMethod]
	if m.sparsify == spDella {
		for i, d := range p.density {
			if e := p.epsilon[i]; d < 1 && (d-e <= 0 || d+e >= 1) {
				return fmt.Errorf("%w: tensor %q: models[%d]: density %v ± epsilon %v must stay inside (0, 1)", ErrRecipe, name, j.inputs[i].index, d, e)
			}
		}
	}
	if m.fam == famLinear && p.normalize {
		var s float64
		for _, w := range p.weight {
			s += w
		}
		if s == 0 {
			return fmt.Errorf("%w: tensor %q: linear with normalize: the weights sum to 0", ErrRecipe, name)
		}
	}
	return nil
}

// resolveGlobal evaluates the merge-wide parameters.
func (j *Job) resolveGlobal() (*globalParams, error) {
	r := j.Recipe
	g := &globalParams{m: 1}
	g.consensusPaper = r.value("consensus", -1, "", 0) == "paper"
	g.rescalePaper = r.value("rescale_mode", -1, "", 0) == "paper"
	g.filterWise, _ = r.value("filter_wise", -1, "", 0).(bool)
	n := len(j.inputs)
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
		for _, in := range j.inputs {
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
