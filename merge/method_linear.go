package merge

import "fmt"

// linear is the model soup Σ wᵢθᵢ with θᵢ = θ₀ + δᵢ, the weights divided by
// Σ wᵢ when normalize. The base listed among the models is one of the
// soup's models (a zero delta), as in mergekit. Without base_model, as
// mergekit allows, the first model is the base: the output is laid out
// like it and takes its other files, and it is one of the soup's models.

func init() {
	register(method{
		name:         "linear",
		params:       map[string]param{"weight": pWeight, "normalize": boolParam(true), "clip": pClip},
		minModels:    1,
		baseIsInput:  true,
		baseOptional: true,
		check:        checkLinear,
		plan:         eachTensor(planLinear),
	})
}

// checkLinear refuses weights that sum to 0 for every tensor, before any
// model is opened (mergekit divides by zero).
func checkLinear(r *Recipe) error {
	if r.boolParam("normalize") && !r.weightsVary() && r.weightSum() == 0 {
		return fmt.Errorf("%w: linear with normalize: the weights sum to 0", ErrRecipe)
	}
	return nil
}

func planLinear(t *tensorScope) (*tensorOp, error) {
	w, err := t.perInput("weight")
	if err != nil {
		return nil, err
	}
	clip, err := t.clipParam()
	if err != nil {
		return nil, err
	}
	normalize := t.flag("normalize")
	sum := sumOf(w)
	if normalize && sum == 0 {
		return nil, fmt.Errorf("%w: tensor %q: linear with normalize: the weights sum to 0", ErrRecipe, t.name)
	}
	s := &soup{w: make([]float32, len(w))}
	for i, wi := range w {
		s.w[i] = float32(wi)
		if normalize {
			s.w[i] = float32(wi / sum) // in float64, rounded once
		}
	}
	return &tensorOp{clip: clip, combine: s}, nil
}

// soup is out = Σ wᵢ·(base + xᵢ), the sum from +0 in input order.
type soup struct{ w []float32 }

func (s *soup) combine(c *chunk) {
	clear(c.acc)
	for i, x := range c.xs {
		addInto(x, c.base)
		axpy(c.acc, s.w[i], x)
	}
	copy(c.out, c.acc)
}

func (s *soup) fusedSum() fusedSum { return fusedSum{linear: true, w: s.w, div: 1} }
