package merge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

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
	// MaskScheme picks the random masks' generator (mask.go): 1, or 0
	// (unset) for 1; 2 for what new merges record (PinMaskScheme).
	MaskScheme int `yaml:"mask_scheme,omitempty" json:"mask_scheme,omitempty"`
	// TokenizerSource may only be "base": the output's tokenizer files are
	// always the base's.
	TokenizerSource string `yaml:"tokenizer_source,omitempty" json:"tokenizer_source,omitempty"`
	// Slices is refused with a clear message (layer ranges are not supported).
	Slices []any `yaml:"slices,omitempty" json:"-"`

	global   map[string]setting   // Parameters, parsed by Check
	perModel []map[string]setting // each model's parameters, parsed by Check
}

// ModelRef is one input model of a recipe and its parameters.
type ModelRef struct {
	Model      string         `yaml:"model" json:"model"`
	Parameters map[string]any `yaml:"parameters,omitempty" json:"parameters,omitempty"`
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

// Check validates the recipe against its method's parameters: every name,
// kind and range, before any model is opened.
func (r *Recipe) Check() error {
	m, ok := methods[r.MergeMethod]
	if !ok {
		return fmt.Errorf("%w: merge_method %q is not supported (supported: %s)", ErrRecipe, r.MergeMethod, methodNames())
	}
	if err := r.checkFields(m); err != nil {
		return err
	}
	global, err := parseParams("parameters", r.Parameters, m, false)
	if err != nil {
		return err
	}
	perModel := make([]map[string]setting, len(r.Models))
	for i, mr := range r.Models {
		if mr.Model == "" {
			return fmt.Errorf("%w: models[%d]: model is required", ErrRecipe, i)
		}
		where := fmt.Sprintf("models[%d] (%s).parameters", i, mr.Model)
		if perModel[i], err = parseParams(where, mr.Parameters, m, true); err != nil {
			return err
		}
	}
	r.global, r.perModel = global, perModel
	for name, p := range m.params {
		if p.required && !r.hasParam(name) {
			return fmt.Errorf("%w: %s needs parameter %q", ErrRecipe, r.MergeMethod, name)
		}
	}
	if m.check != nil {
		return m.check(r)
	}
	return nil
}

func (r *Recipe) checkFields(m method) error {
	switch {
	case r.BaseModel == "":
		return fmt.Errorf("%w: base_model is required", ErrRecipe)
	case len(r.Slices) > 0:
		return fmt.Errorf("%w: slices are not supported: list the models under models", ErrRecipe)
	case len(r.Models) == 0:
		return fmt.Errorf("%w: models is empty", ErrRecipe)
	case r.TokenizerSource != "" && r.TokenizerSource != "base":
		return fmt.Errorf("%w: tokenizer_source %q: the tokenizer is always the base's (tokenizer_source: base)", ErrRecipe, r.TokenizerSource)
	}
	if _, ok := outDtypes[r.Dtype]; r.Dtype != "" && !ok {
		return fmt.Errorf("%w: dtype %q (supported: float32, bfloat16, float16; computation is in float32 whatever it says)", ErrRecipe, r.Dtype)
	}
	if _, ok := outDtypes[r.OutDtype]; r.OutDtype != "" && !ok {
		return fmt.Errorf("%w: out_dtype %q (supported: float32, bfloat16, float16)", ErrRecipe, r.OutDtype)
	}
	if err := checkMaskScheme(r); err != nil {
		return err
	}
	if n := r.inputCount(); n < m.minModels || (m.maxModels > 0 && n > m.maxModels) {
		return fmt.Errorf("%w: %s takes %s other than the base, the recipe lists %d", ErrRecipe, r.MergeMethod, countRange(m), n)
	}
	return nil
}

// inputCount is the number of models other than the base itself (which a
// mergekit recipe may list among its models).
func (r *Recipe) inputCount() int {
	n := 0
	for _, mr := range r.Models {
		if mr.Model != r.BaseModel {
			n++
		}
	}
	return n
}

func countRange(m method) string {
	switch {
	case m.maxModels == m.minModels:
		return fmt.Sprintf("exactly %d model(s)", m.minModels)
	case m.maxModels == 0:
		return fmt.Sprintf("at least %d model(s)", m.minModels)
	}
	return fmt.Sprintf("%d to %d models", m.minModels, m.maxModels)
}

// parseParams parses and checks one parameters map (top level, or a model's).
func parseParams(where string, got map[string]any, m method, perModel bool) (map[string]setting, error) {
	out := map[string]setting{}
	for k, v := range got {
		p, ok := m.params[k]
		if !ok || (perModel && !p.perModel) {
			what := "is not supported by this method"
			if ok {
				what = "is a top-level parameter, not a per-model one"
			}
			return nil, fmt.Errorf("%w: %s: parameter %q %s (supported: %s)", ErrRecipe, where, k, what, m.paramNames(perModel))
		}
		s, err := parseSetting(v, false)
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

func (r *Recipe) hasParam(name string) bool {
	if _, ok := r.global[name]; ok {
		return true
	}
	for _, pm := range r.perModel {
		if _, ok := pm[name]; !ok {
			return false
		}
	}
	return len(r.perModel) > 0 && methods[r.MergeMethod].params[name].perModel
}

// value returns parameter name for model i (−1 for none) and one tensor at
// layer position t: the model's setting, else the recipe's, else the
// method's default (nil when it has none), as mergekit resolves them.
func (r *Recipe) value(name string, model int, tensor string, t float64) any {
	if model >= 0 && model < len(r.perModel) {
		if s, ok := r.perModel[model][name]; ok {
			if v, ok := s.eval(tensor, t); ok {
				return v
			}
		}
	}
	if s, ok := r.global[name]; ok {
		if v, ok := s.eval(tensor, t); ok {
			return v
		}
	}
	return methods[r.MergeMethod].params[name].def
}

func (r *Recipe) boolParam(name string) bool {
	b, _ := r.value(name, -1, "", 0).(bool)
	return b
}

// Weight returns model i's weight as the whole model sees it, or 1 for a
// method without weights; for fedavg, its sample count when the recipe
// gives one. Provenance records it.
func (r *Recipe) Weight(i int) float64 {
	m := methods[r.MergeMethod]
	name := m.weightParam
	if name == "" {
		name = "weight"
	}
	if _, ok := m.params[name]; !ok {
		return 1
	}
	f, ok := toFloat(r.value(name, i, "", 0))
	if !ok {
		return 0
	}
	return f
}

func (r *Recipe) weightSum() float64 {
	var s float64
	for i := range r.Models {
		s += r.Weight(i)
	}
	return s
}

// weightsVary reports whether any weight may differ between tensors.
func (r *Recipe) weightsVary() bool {
	if s, ok := r.global["weight"]; ok && s.varies() {
		return true
	}
	for _, pm := range r.perModel {
		if s, ok := pm["weight"]; ok && s.varies() {
			return true
		}
	}
	return false
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
