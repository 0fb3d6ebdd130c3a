package merge

import "fmt"

// The scopes a method's plan reads its parameters through: the whole merge
// (merge-wide parameters, its inputs), and one tensor (every parameter as
// mergekit resolves it for that tensor: the model's setting, else the
// recipe's, else the method's default).

// mergeScope is what a method's plan sees of the whole merge.
type mergeScope struct {
	r      *Recipe
	inputs []*input // the models the method combines, in recipe order
}

// value is a parameter as the whole merge sees it (no tensor named), for
// one model (-1 for none).
func (s *mergeScope) value(name string, model int) any { return s.r.value(name, model, "", 0) }

// flag is a merge-wide bool parameter (false when unset and no default).
func (s *mergeScope) flag(name string) bool {
	b, _ := s.value(name, -1).(bool)
	return b
}

// choice is a merge-wide enum parameter ("" when unset and no default).
func (s *mergeScope) choice(name string) string {
	c, _ := s.value(name, -1).(string)
	return c
}

// number is a merge-wide number parameter, or false when it has no value.
func (s *mergeScope) number(name string, model int) (float64, bool) {
	return toFloat(s.value(name, model))
}

// tensorScope is what a method's plan sees of one tensor.
type tensorScope struct {
	*mergeScope
	name string  // the tensor's
	pos  float64 // its layer position, for gradients
}

// number resolves a top-level number parameter for the tensor.
func (s *tensorScope) number(name string) (float64, error) {
	return s.resolve(name, -1)
}

// perInput resolves a per-model number parameter for each input.
func (s *tensorScope) perInput(name string) ([]float64, error) {
	out := make([]float64, len(s.inputs))
	for k, in := range s.inputs {
		var err error
		if out[k], err = s.resolve(name, in.index); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *tensorScope) resolve(name string, model int) (float64, error) {
	f, ok := toFloat(s.r.value(name, model, s.name, s.pos))
	if !ok {
		return 0, fmt.Errorf("%w: tensor %q: no value for parameter %q (no filter matches and there is no default)", ErrRecipe, s.name, name)
	}
	return f, nil
}

// flag resolves a bool parameter for the tensor (false when unset and no
// default).
func (s *tensorScope) flag(name string) bool {
	b, _ := s.r.value(name, -1, s.name, s.pos).(bool)
	return b
}

// drawers are the inputs' random draws for the tensor, in the recipe's
// mask scheme (mask.go).
func (s *tensorScope) drawers() []drawer {
	var seed uint64
	if s.r.Seed != nil {
		seed = *s.r.Seed
	}
	out := make([]drawer, len(s.inputs))
	for k, in := range s.inputs {
		out[k] = newDrawer(s.r.MaskScheme, seed, in.index, s.name)
	}
	return out
}

// clipParam is every method's clip: τ for the tensor (0: off).
func (s *tensorScope) clipParam() (float64, error) { return s.number("clip") }

// toF32 rounds each value to float32.
func toF32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, f := range v {
		out[i] = float32(f)
	}
	return out
}
