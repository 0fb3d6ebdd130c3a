package merge

import (
	"fmt"
	"math"
	"strings"
)

// setting is one parameter's value as a recipe writes it, in mergekit's
// three shapes:
//
//	weight: 0.5                       a scalar (number, bool or string)
//	weight: [0, 0.5, 1]               a gradient over the layers
//	weight:                           conditions: the first whose filter is a
//	  - {filter: mlp, value: 0.3}     substring of the tensor's name (or that
//	  - {value: [0, 1]}               has no filter, or "*") gives the value
type setting struct {
	scalar any       // float64, bool or string; nil when grad or conds is set
	grad   []float64 // at least one number
	conds  []condition
}

type condition struct {
	filter string // "" or "*" matches every tensor
	value  setting
}

// parseSetting reads a decoded YAML value. Conditions hold only scalars or
// gradients, as mergekit's do.
func parseSetting(v any, nested bool) (setting, error) {
	switch x := v.(type) {
	case bool, string:
		return setting{scalar: x}, nil
	case []any:
		return parseList(x, nested)
	case map[string]any:
		if nested {
			return setting{}, fmt.Errorf("a condition's value must be a number or a list of numbers")
		}
		c, err := parseCondition(x)
		return setting{conds: []condition{c}}, err
	}
	if f, ok := toFloat(v); ok {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return setting{}, fmt.Errorf("must be a finite number, got %v", v)
		}
		return setting{scalar: f}, nil
	}
	return setting{}, fmt.Errorf("unexpected value %v", v)
}

func parseList(xs []any, nested bool) (setting, error) {
	if len(xs) == 0 {
		return setting{}, fmt.Errorf("an empty list")
	}
	if _, isMap := xs[0].(map[string]any); isMap && !nested {
		var s setting
		for i, x := range xs {
			m, ok := x.(map[string]any)
			if !ok {
				return setting{}, fmt.Errorf("item %d: mixes conditions and values", i)
			}
			c, err := parseCondition(m)
			if err != nil {
				return setting{}, fmt.Errorf("item %d: %w", i, err)
			}
			s.conds = append(s.conds, c)
		}
		return s, nil
	}
	g := make([]float64, len(xs))
	for i, x := range xs {
		f, ok := toFloat(x)
		if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
			return setting{}, fmt.Errorf("a gradient holds finite numbers only, item %d is %v", i, x)
		}
		g[i] = f
	}
	return setting{grad: g}, nil
}

func parseCondition(m map[string]any) (condition, error) {
	var c condition
	for k := range m {
		if k != "filter" && k != "value" {
			return c, fmt.Errorf("unknown key %q in a condition (want filter, value)", k)
		}
	}
	if f, ok := m["filter"]; ok {
		s, isStr := f.(string)
		if !isStr {
			return c, fmt.Errorf("filter must be a string, got %v", f)
		}
		c.filter = s
	}
	v, ok := m["value"]
	if !ok {
		return c, fmt.Errorf("a condition needs a value")
	}
	var err error
	c.value, err = parseSetting(v, true)
	return c, err
}

// eval returns the setting's value for a tensor at layer position t in
// [0, 1], or false when no condition matches (the caller then falls back to
// the next level: a model's parameter to the recipe's, the recipe's to the
// method's default).
func (s setting) eval(tensor string, t float64) (any, bool) {
	switch {
	case s.scalar != nil:
		return s.scalar, true
	case s.grad != nil:
		return interpolate(s.grad, t), true
	}
	for _, c := range s.conds {
		if c.filter == "" || c.filter == "*" || strings.Contains(tensor, c.filter) {
			return c.value.eval(tensor, t)
		}
	}
	return nil, false
}

// interpolate is mergekit's gradient: the list spread evenly over t in
// [0, 1], linear between neighbours. The products are rounded before they
// are added (no fused multiply-add), so every platform agrees.
func interpolate(g []float64, t float64) float64 {
	scaled := float64(t * float64(len(g)-1))
	i0 := int(scaled)
	i1 := min(len(g)-1, i0+1)
	frac := scaled - float64(i0)
	return float64((1-frac)*g[i0]) + float64(frac*g[i1])
}

// numbers returns every number the setting can evaluate to (scalars,
// gradient points), for range checks before any tensor is seen:
// interpolation never leaves the range of its points.
func (s setting) numbers() []float64 {
	if f, ok := s.scalar.(float64); ok {
		return []float64{f}
	}
	out := append([]float64(nil), s.grad...)
	for _, c := range s.conds {
		out = append(out, c.value.numbers()...)
	}
	return out
}

// scalars returns every non-numeric scalar the setting holds.
func (s setting) scalars() []any {
	var out []any
	if s.scalar != nil {
		if _, isNum := s.scalar.(float64); !isNum {
			out = append(out, s.scalar)
		}
	}
	for _, c := range s.conds {
		out = append(out, c.value.scalars()...)
	}
	return out
}

// varies reports whether the value may differ between tensors.
func (s setting) varies() bool { return s.scalar == nil }

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	}
	return 0, false
}
