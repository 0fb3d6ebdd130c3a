package merge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"go.yaml.in/yaml/v3"
)

// ErrRecipe reports a recipe we cannot run: an unknown method or parameter,
// a value out of range. It is reported before any work starts.
var ErrRecipe = errors.New("merge: bad recipe")

// Recipe is a merge recipe in the YAML shape mergekit users already write.
// Model references are local directories (or Hugging Face names in the
// local cache, or model+adapter pairs), or CIDs of releases when the hub
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
	// TokenizerSource is the output's vocabulary (tokenizer.go): "base",
	// "union", or a model ("model:X" or X). Empty: the base's tokenizer
	// files, and embeddings of other sizes cut to their common rows.
	TokenizerSource string `yaml:"tokenizer_source,omitempty" json:"tokenizer_source,omitempty"`
	// Slices, instead of Models, builds the output's layers from ranges of
	// layers of the inputs (slices.go).
	Slices []Slice `yaml:"slices,omitempty" json:"slices,omitempty"`
	// Tokenizer is mergekit's tokenizer block: TokenizerSource with
	// per-token embedding sources and padding.
	Tokenizer *TokenizerConfig `yaml:"tokenizer,omitempty" json:"tokenizer,omitempty"`
	// ChatTemplate sets the output's chat template: "auto", a built-in
	// name, or a Jinja template.
	ChatTemplate string `yaml:"chat_template,omitempty" json:"chat_template,omitempty"`
	// Modules (mergekit's per-module slices) is refused with a message.
	Modules any `yaml:"modules,omitempty" json:"-"`

	global   map[string]setting   // Parameters, parsed by Check
	perModel []map[string]setting // each model's parameters, parsed by Check
	// fallback, in a slice's recipe, is the whole recipe's parameters,
	// read where the slice's own give no value (slices.go).
	fallback map[string]setting
	warnings []string // what Check accepted but ignores
}

// BaseRef is the model the output is laid out from, whose other files it
// copies: base_model, or the first model when the method lets a recipe
// leave base_model out (as mergekit takes one of the models).
func (r *Recipe) BaseRef() string {
	if r.BaseModel == "" && len(r.Models) > 0 {
		return r.Models[0].Model
	}
	return r.BaseModel
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
// kind and range, before any model is opened. A parameter that mergekit
// accepts but the method does not read is dropped with a warning
// (Warnings); an unknown one is an error.
func (r *Recipe) Check() error {
	m, ok := methods[r.MergeMethod]
	if !ok {
		return fmt.Errorf("%w: merge_method %q is not supported (supported: %s)", ErrRecipe, r.MergeMethod, methodNames())
	}
	r.warnings = nil
	if err := r.checkFields(m); err != nil {
		return err
	}
	global, err := r.parseParams("parameters", r.Parameters, m, false)
	if err != nil {
		return err
	}
	r.global = global
	if len(r.Slices) > 0 {
		return r.checkSlices(m)
	}
	perModel := make([]map[string]setting, len(r.Models))
	for i, mr := range r.Models {
		if mr.Model == "" {
			return fmt.Errorf("%w: models[%d]: model is required", ErrRecipe, i)
		}
		where := fmt.Sprintf("models[%d] (%s).parameters", i, mr.Model)
		if perModel[i], err = r.parseParams(where, mr.Parameters, m, true); err != nil {
			return err
		}
	}
	r.perModel = perModel
	return r.checkMethod(m)
}

// checkMethod runs the checks only the method's values tell: required
// parameters, and the method's own.
func (r *Recipe) checkMethod(m method) error {
	for _, name := range slices.Sorted(maps.Keys(m.params)) {
		if m.params[name].required && !r.hasParam(name) {
			return fmt.Errorf("%w: %s needs parameter %q", ErrRecipe, r.MergeMethod, name)
		}
	}
	if m.check != nil {
		return m.check(r)
	}
	return nil
}

// Warnings lists what Check accepted but the merge ignores, one sentence
// each, for the user to read.
func (r *Recipe) Warnings() []string { return r.warnings }

func (r *Recipe) warn(format string, args ...any) {
	r.warnings = append(r.warnings, fmt.Sprintf(format, args...))
}

func (r *Recipe) checkFields(m method) error {
	switch {
	case r.BaseModel == "" && !m.baseOptional:
		return fmt.Errorf("%w: base_model is required (%s works on differences from a base)", ErrRecipe, r.MergeMethod)
	case r.Modules != nil:
		return fmt.Errorf("%w: modules (per-module slices of multi-module models) is not supported: use models or slices", ErrRecipe)
	case len(r.Slices) > 0 && len(r.Models) > 0:
		return fmt.Errorf("%w: the recipe gives both models and slices; give one of them", ErrRecipe)
	case len(r.Slices) == 0 && len(r.Models) == 0:
		return fmt.Errorf("%w: models is empty", ErrRecipe)
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
	if err := r.checkTokenizer(); err != nil {
		return err
	}
	if n := r.inputCount(m); len(r.Slices) == 0 && (n < m.minModels || (m.maxModels > 0 && n > m.maxModels)) {
		other := " other than the base"
		if m.baseIsInput {
			other = ""
		}
		return fmt.Errorf("%w: %s takes %s%s, the recipe lists %d", ErrRecipe, r.MergeMethod, countRange(m), other, n)
	}
	return nil
}

// inputCount is the number of models the method combines: those other
// than the base itself (which a mergekit recipe may list among its
// models), or all of them when the base is one of its inputs (linear).
func (r *Recipe) inputCount(m method) int {
	n := 0
	for _, mr := range r.Models {
		if mr.Model != r.BaseRef() || m.baseIsInput {
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

func (r *Recipe) hasParam(name string) bool {
	if _, ok := r.global[name]; ok {
		return true
	}
	if _, ok := r.fallback[name]; ok {
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
// layer position t: the model's setting, else the recipe's (in a slice,
// the slice's, then the whole recipe's), else the method's default (nil
// when it has none), as mergekit resolves them.
func (r *Recipe) value(name string, model int, tensor string, t float64) any {
	if model >= 0 && model < len(r.perModel) {
		if s, ok := r.perModel[model][name]; ok {
			if v, ok := s.eval(tensor, t); ok {
				return v
			}
		}
	}
	for _, level := range []map[string]setting{r.global, r.fallback} {
		if s, ok := level[name]; ok {
			if v, ok := s.eval(tensor, t); ok {
				return v
			}
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

// WeightGradient returns model i's weight over the layers when the recipe
// gives it as a gradient ([0.2, 0.8]), else nil; Weight is its first value.
func (r *Recipe) WeightGradient(i int) []float64 {
	name := methods[r.MergeMethod].weightParam
	if name == "" {
		name = "weight"
	}
	if _, ok := methods[r.MergeMethod].params[name]; !ok {
		return nil
	}
	levels := []map[string]setting{r.global, r.fallback}
	if i >= 0 && i < len(r.perModel) {
		levels = append([]map[string]setting{r.perModel[i]}, levels...)
	}
	for _, level := range levels {
		if s, ok := level[name]; ok {
			if len(s.grad) > 1 {
				return append([]float64(nil), s.grad...)
			}
			return nil
		}
	}
	return nil
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
	for _, level := range []map[string]setting{r.global, r.fallback} {
		if s, ok := level["weight"]; ok && s.varies() {
			return true
		}
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
