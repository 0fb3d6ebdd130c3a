package merge

import (
	"fmt"
	"slices"
)

// mergekitParams are the parameters mergekit's methods read (weight on
// linear, t on slerp, select_topk on sce, ...). mergekit accepts any of
// them on any method and ignores those the method does not read; its own
// tests give slerp and model_stock a weight. A recipe may do the same
// here: the parameter is dropped with a warning. A name no method knows
// (a typo such as "densty") stays an error.
var mergekitParams = []string{
	"alpha", "density", "epsilon", "eps", "filter_wise", "gamma", "int8_mask",
	"lambda", "max_iter", "normalize", "normalize_weights", "nuslerp_flatten",
	"nuslerp_row_wise", "r", "rescale", "scale", "select_topk", "t", "tol", "weight",
}

// knownParam reports whether some method, here or in mergekit, reads name.
func knownParam(name string) bool {
	if slices.Contains(mergekitParams, name) {
		return true
	}
	for _, m := range methods {
		if _, ok := m.params[name]; ok {
			return true
		}
	}
	return false
}

// parseParams parses and checks one parameters map (top level, a slice's,
// or a model's), in name order so that the first error is always the same.
func (r *Recipe) parseParams(where string, got map[string]any, m method, perModel bool) (map[string]setting, error) {
	out := map[string]setting{}
	for _, k := range sortedKeys(got) {
		p, ok := m.params[k]
		switch {
		case !ok && knownParam(k):
			r.warn("%s: parameter %q is ignored: %s does not read it (it takes %s)", where, k, m.name, m.supported(perModel))
			continue
		case !ok:
			return nil, fmt.Errorf("%w: %s: parameter %q is not supported by %s (it takes %s)", ErrRecipe, where, k, m.name, m.supported(perModel))
		case perModel && !p.perModel:
			return nil, fmt.Errorf("%w: %s: parameter %q is a top-level parameter, not a per-model one (per model, %s takes %s)", ErrRecipe, where, k, m.name, m.supported(true))
		}
		s, err := parseSetting(got[k], false)
		if err == nil {
			err = p.checkValue(s)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: parameter %q: %v", ErrRecipe, where, k, err)
		}
		out[k] = s
	}
	return out, nil
}

// supported names the parameters a method takes, for messages: never an
// empty list.
func (m method) supported(perModel bool) string {
	if names := m.paramNames(perModel); names != "" {
		return names
	}
	if top := m.paramNames(false); perModel && top != "" {
		return "no per-model parameters; at top level: " + top
	}
	return "no parameters"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
