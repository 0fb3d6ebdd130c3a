package merge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"go.yaml.in/yaml/v3"
)

// ErrRecipe reports a recipe we cannot run: an unknown method or parameter,
// a value out of range. It is reported before any work starts.
var ErrRecipe = errors.New("merge: bad recipe")

// Recipe is a merge recipe in the YAML shape mergekit users already write.
// Model references are local directories, or CIDs of releases when the hub
// runs the merge.
type Recipe struct {
	MergeMethod string         `yaml:"merge_method" json:"merge_method"`
	BaseModel   string         `yaml:"base_model" json:"base_model"`
	Models      []ModelRef     `yaml:"models" json:"models"`
	Parameters  map[string]any `yaml:"parameters,omitempty" json:"parameters,omitempty"`
	Dtype       string         `yaml:"dtype,omitempty" json:"dtype,omitempty"`
	OutDtype    string         `yaml:"out_dtype,omitempty" json:"out_dtype,omitempty"`
	Seed        *uint64        `yaml:"seed,omitempty" json:"seed,omitempty"`
}

// ModelRef is one input model of a recipe and its parameters.
type ModelRef struct {
	Model      string         `yaml:"model" json:"model"`
	Parameters map[string]any `yaml:"parameters,omitempty" json:"parameters,omitempty"`
}

// method lists what a merge method accepts, with defaults.
type method struct {
	global   map[string]any // top-level parameters and their defaults
	perModel map[string]any // per-model parameters and their defaults
}

var methods = map[string]method{
	// θ₀ + λ Σ wᵢ δᵢ
	"task_arithmetic": {global: map[string]any{"lambda": 1.0}, perModel: map[string]any{"weight": 1.0}},
	// Σ wᵢ θᵢ, divided by Σ wᵢ when normalize
	"linear": {global: map[string]any{"normalize": true}, perModel: map[string]any{"weight": 1.0}},
}

// outDtypes maps the dtype names recipes use to safetensors dtypes.
var outDtypes = map[string]string{"float32": "F32", "bfloat16": "BF16", "float16": "F16"}

// ParseRecipe decodes a YAML (or JSON) recipe and checks it completely:
// unknown fields, methods or parameters are errors naming them.
func ParseRecipe(b []byte) (*Recipe, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var r Recipe
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRecipe, err)
	}
	if err := r.Check(); err != nil {
		return nil, err
	}
	return &r, nil
}

// Check validates the recipe against its method's parameters.
func (r *Recipe) Check() error {
	m, ok := methods[r.MergeMethod]
	if !ok {
		return fmt.Errorf("%w: merge_method %q is not supported (supported: linear, task_arithmetic)", ErrRecipe, r.MergeMethod)
	}
	if r.BaseModel == "" {
		return fmt.Errorf("%w: base_model is required", ErrRecipe)
	}
	if len(r.Models) == 0 {
		return fmt.Errorf("%w: models is empty", ErrRecipe)
	}
	if r.Dtype != "" && r.Dtype != "float32" {
		return fmt.Errorf("%w: dtype %q: computation is in float32", ErrRecipe, r.Dtype)
	}
	if _, ok := outDtypes[r.OutDtype]; r.OutDtype != "" && !ok {
		return fmt.Errorf("%w: out_dtype %q (supported: float32, bfloat16, float16)", ErrRecipe, r.OutDtype)
	}
	if err := checkParams("parameters", r.Parameters, m.global); err != nil {
		return err
	}
	for i, mr := range r.Models {
		if mr.Model == "" {
			return fmt.Errorf("%w: models[%d]: model is required", ErrRecipe, i)
		}
		if err := checkParams(fmt.Sprintf("models[%d] (%s).parameters", i, mr.Model), mr.Parameters, m.perModel); err != nil {
			return err
		}
	}
	if r.MergeMethod == "linear" && r.boolParam("normalize") && r.weightSum() == 0 {
		return fmt.Errorf("%w: linear with normalize: the weights sum to 0", ErrRecipe)
	}
	return nil
}

func checkParams(where string, got, allowed map[string]any) error {
	for k, v := range got {
		def, ok := allowed[k]
		if !ok {
			return fmt.Errorf("%w: %s: parameter %q is not supported by this method", ErrRecipe, where, k)
		}
		switch def.(type) {
		case float64:
			f, ok := toFloat(v)
			if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
				return fmt.Errorf("%w: %s: parameter %q must be a finite number, got %v", ErrRecipe, where, k, v)
			}
		case bool:
			if _, ok := v.(bool); !ok {
				return fmt.Errorf("%w: %s: parameter %q must be true or false, got %v", ErrRecipe, where, k, v)
			}
		}
	}
	return nil
}

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

// floatParam returns a top-level number parameter or its default.
func (r *Recipe) floatParam(name string) float64 {
	if v, ok := r.Parameters[name]; ok {
		f, _ := toFloat(v)
		return f
	}
	f, _ := toFloat(methods[r.MergeMethod].global[name])
	return f
}

func (r *Recipe) boolParam(name string) bool {
	if v, ok := r.Parameters[name].(bool); ok {
		return v
	}
	b, _ := methods[r.MergeMethod].global[name].(bool)
	return b
}

// Weight returns model i's weight parameter or its default.
func (r *Recipe) Weight(i int) float64 {
	if v, ok := r.Models[i].Parameters["weight"]; ok {
		f, _ := toFloat(v)
		return f
	}
	f, _ := toFloat(methods[r.MergeMethod].perModel["weight"])
	return f
}

func (r *Recipe) weightSum() float64 {
	var s float64
	for i := range r.Models {
		s += r.Weight(i)
	}
	return s
}

// Canonical returns the recipe's canonical JSON (struct field order, sorted
// map keys, no insignificant space): what provenance records and hashes.
func (r *Recipe) Canonical() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
