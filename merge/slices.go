package merge

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Slice is one of mergekit's output slices: a run of output layers, each
// merged from the same layer of every source (a source's layer_range
// first, then the next, ...). A recipe of slices builds a model of other
// depth than its inputs: a frankenmerge of 44 layers from two of 32, or a
// model of 24 from one of 12 used twice. The layers are renumbered in the
// output, and its config's layer count is their total.
//
// Parameters resolve as mergekit resolves them: a source's parameters, else
// the slice's, else the recipe's, else the method's default; a gradient
// spreads over the slice's layers (layer i of n at i/(n−1)). The tensors
// outside the layers come from the first slice's sources (embeddings) or
// the last's (final norm, lm_head), with those slices' parameters.
type Slice struct {
	Sources    []SliceSource  `yaml:"sources" json:"sources"`
	BaseModel  string         `yaml:"base_model,omitempty" json:"base_model,omitempty"`
	Parameters map[string]any `yaml:"parameters,omitempty" json:"parameters,omitempty"`
	// ResidualWeight is accepted and ignored, as mergekit ignores it.
	ResidualWeight *float64 `yaml:"residual_weight,omitempty" json:"residual_weight,omitempty"`
}

// SliceSource is one input of a slice: layers [first, end) of a model.
type SliceSource struct {
	Model      string         `yaml:"model" json:"model"`
	LayerRange []int          `yaml:"layer_range" json:"layer_range"`
	Parameters map[string]any `yaml:"parameters,omitempty" json:"parameters,omitempty"`
}

func (s SliceSource) layers() int { return s.LayerRange[1] - s.LayerRange[0] }

// id names the source's view in its slice's recipe: the model and range.
func (s SliceSource) id() string {
	return fmt.Sprintf("%s[%d:%d]", s.Model, s.LayerRange[0], s.LayerRange[1])
}

// References lists the models a job opens besides the base, in the order
// Job.Deltas holds them: the models as listed (the base too, when listed),
// or for slices each source's model once, in order of appearance.
func (r *Recipe) References() []string {
	var out []string
	for _, mr := range r.Models {
		out = append(out, mr.Model)
	}
	for _, s := range r.Slices {
		for _, src := range s.Sources {
			if !slices.Contains(out, src.Model) {
				out = append(out, src.Model)
			}
		}
	}
	return out
}

// Layers is the output's layer count for a recipe of slices (0 for one of
// models, whose output has its base's layers).
func (r *Recipe) Layers() int {
	n := 0
	for _, s := range r.Slices {
		n += s.Sources[0].layers()
	}
	return n
}

// checkSlices checks every slice: its sources' ranges, every parameter
// where it is set, and the method's own checks on each slice's recipe.
func (r *Recipe) checkSlices(m method) error {
	for i, s := range r.Slices {
		where := fmt.Sprintf("slices[%d]", i)
		if len(s.Sources) == 0 {
			return fmt.Errorf("%w: %s: sources is empty", ErrRecipe, where)
		}
		for j, src := range s.Sources {
			at := fmt.Sprintf("%s.sources[%d]", where, j)
			switch rg := src.LayerRange; {
			case src.Model == "":
				return fmt.Errorf("%w: %s: model is required", ErrRecipe, at)
			case len(rg) != 2 || rg[0] < 0 || rg[1] <= rg[0]:
				return fmt.Errorf("%w: %s (%s): layer_range must be [first, end] with 0 ≤ first < end, got %v", ErrRecipe, at, src.Model, rg)
			case src.layers() != s.Sources[0].layers():
				return fmt.Errorf("%w: %s: every source of a slice gives as many layers: sources[0] gives %d, sources[%d] gives %d", ErrRecipe, where, s.Sources[0].layers(), j, src.layers())
			}
			if _, err := r.parseParams(fmt.Sprintf("%s (%s).parameters", at, src.Model), src.Parameters, m, true); err != nil {
				return err
			}
		}
		if _, err := r.parseParams(where+".parameters", s.Parameters, m, false); err != nil {
			return err
		}
		if s.ResidualWeight != nil {
			r.warn("%s: residual_weight is ignored (mergekit ignores it too)", where)
		}
		sub, err := r.sliceRecipe(i)
		if err == nil {
			err = sub.Check()
		}
		if err != nil {
			return within(where, err)
		}
	}
	return nil
}

// sliceRecipe is slice i as a recipe of models: each source a model (named
// by its id), the slice's base the source of the slice's (else the
// recipe's) base_model, the slice's parameters over the recipe's.
func (r *Recipe) sliceRecipe(i int) (*Recipe, error) {
	s := r.Slices[i]
	sub := &Recipe{MergeMethod: r.MergeMethod, Parameters: s.Parameters, Dtype: r.Dtype, OutDtype: r.OutDtype, Seed: r.Seed, fallback: r.global}
	base := cmp.Or(s.BaseModel, r.BaseModel)
	for _, src := range s.Sources {
		sub.Models = append(sub.Models, ModelRef{Model: src.id(), Parameters: src.Parameters})
		if src.Model == base && sub.BaseModel == "" {
			sub.BaseModel = src.id()
		}
	}
	if sub.BaseModel == "" && base != "" && !methods[r.MergeMethod].baseOptional {
		return nil, fmt.Errorf("%w: base_model %s is not among the slice's sources (%s needs the base's layers)", ErrRecipe, base, r.MergeMethod)
	}
	return sub, nil
}

// within puts a place (slices[1], models[0]) in an error about it, after
// the sentinel or package prefix it starts with: "merge: bad recipe:
// slices[1]: ...". The error still wraps err.
func within(where string, err error) error {
	msg := err.Error()
	for _, prefix := range []string{ErrRecipe.Error() + ": ", ErrIncompatible.Error() + ": ", "merge: "} {
		if rest, ok := strings.CutPrefix(msg, prefix); ok {
			return &placed{prefix + where + ": " + rest, err}
		}
	}
	return &placed{"merge: " + where + ": " + msg, err}
}

// placed is an error with its place put in its message.
type placed struct {
	msg string
	err error
}

func (p *placed) Error() string { return p.msg }
func (p *placed) Unwrap() error { return p.err }
