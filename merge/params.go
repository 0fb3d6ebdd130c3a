package merge

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// paramKind is what values a parameter takes.
type paramKind int

const (
	pNumber paramKind = iota
	pBool
	pEnum
	pInt
)

// param describes one recipe parameter of a method.
type param struct {
	kind     paramKind
	def      any  // the default; nil means none (required, or computed)
	perModel bool // may be set per model (and at top level as every model's default)
	global   bool // one value for the whole merge: no filters, no gradients
	required bool
	enum     []string
	rangeOK  func(float64) string // "" when fine, else what it must be
}

// family is how a method combines its inputs.
type family int

const (
	famTask    family = iota // θ₀ + λ·mix of (sparsified) deltas, with or without sign consensus
	famLinear                // Σ wᵢθᵢ / Σ wᵢ
	famStock                 // model_stock
	famSlerp                 // slerp
	famFedAvg                // θ₀ + λ Σ nᵢδᵢ / Σ nᵢ
	famMedian                // coordinate-wise median
	famTrimmed               // coordinate-wise trimmed mean
	famKrum                  // (multi-)Krum
)

// sparsifier is how a task method thins each delta before combining.
type sparsifier int

const (
	spNone      sparsifier = iota
	spMagnitude            // TIES: keep the top density fraction by magnitude
	spRandom               // DARE: keep each element with probability density
	spOutliers             // breadcrumbs: drop the largest gamma and the smallest
	spDella                // DELLA: keep probability by magnitude rank in its row
)

// method is one merge method: how it combines, and its parameters.
type method struct {
	fam       family
	sparsify  sparsifier
	consensus bool // TIES sign election
	minModels int
	maxModels int // 0: no limit
	params    map[string]param
}

func inUnit(f float64) string { // density: (0, 1]
	if f > 0 && f <= 1 {
		return ""
	}
	return "in (0, 1]"
}

func fraction(f float64) string { // gamma, epsilon: [0, 1)
	if f >= 0 && f < 1 {
		return ""
	}
	return "in [0, 1)"
}

func nonNegative(f float64) string {
	if f >= 0 {
		return ""
	}
	return "≥ 0"
}

func positive(f float64) string {
	if f > 0 {
		return ""
	}
	return "> 0"
}

func belowHalf(f float64) string {
	if f >= 0 && f < 0.5 {
		return ""
	}
	return "in [0, 0.5)"
}

// Parameters shared by several methods.
var (
	pWeight    = param{kind: pNumber, def: 1.0, perModel: true}
	pDensity   = param{kind: pNumber, def: 1.0, perModel: true, rangeOK: inUnit}
	pGamma     = param{kind: pNumber, def: 0.01, perModel: true, rangeOK: fraction}
	pEpsilon   = param{kind: pNumber, def: 0.15, perModel: true, rangeOK: fraction}
	pLambda    = param{kind: pNumber, def: 1.0}
	pClip      = param{kind: pNumber, def: 0.0, rangeOK: nonNegative}
	pInt8Mask  = param{kind: pBool, def: false, global: true}
	pConsensus = param{kind: pEnum, def: "mergekit", enum: []string{"mergekit", "paper"}, global: true}
	pRescaleBy = param{kind: pEnum, def: "l1", enum: []string{"l1", "paper"}, global: true}
)

func boolParam(def bool) param { return param{kind: pBool, def: def} }

// taskMethod is a member of mergekit's generalized task arithmetic family.
func taskMethod(sp sparsifier, consensus, normalize, rescale bool) method {
	ps := map[string]param{"weight": pWeight, "lambda": pLambda, "normalize": boolParam(normalize), "clip": pClip}
	if sp != spNone {
		ps["density"] = pDensity
		ps["rescale"] = boolParam(rescale)
	}
	switch sp {
	case spOutliers:
		ps["gamma"] = pGamma
	case spDella:
		ps["epsilon"] = pEpsilon
	}
	if sp == spRandom || sp == spDella {
		ps["rescale_mode"] = pRescaleBy
	}
	if consensus {
		ps["consensus"] = pConsensus
		ps["int8_mask"] = pInt8Mask
	}
	return method{fam: famTask, sparsify: sp, consensus: consensus, minModels: 1, params: ps}
}

// methods are the merge methods a recipe may name, with mergekit's defaults.
var methods = map[string]method{
	"linear":           {fam: famLinear, minModels: 1, params: map[string]param{"weight": pWeight, "normalize": boolParam(true), "clip": pClip}},
	"task_arithmetic":  taskMethod(spNone, false, false, false),
	"ties":             taskMethod(spMagnitude, true, true, false),
	"dare_linear":      taskMethod(spRandom, false, false, true),
	"dare_ties":        taskMethod(spRandom, true, false, true),
	"breadcrumbs":      taskMethod(spOutliers, false, false, false),
	"breadcrumbs_ties": taskMethod(spOutliers, true, false, false),
	"della":            taskMethod(spDella, true, true, true),
	"della_linear":     taskMethod(spDella, false, false, true),
	"model_stock": {fam: famStock, minModels: 2, params: map[string]param{
		"filter_wise": {kind: pBool, def: false, global: true}, "clip": pClip}},
	"slerp": {fam: famSlerp, minModels: 1, maxModels: 1, params: map[string]param{
		"t": {kind: pNumber, required: true}, "clip": pClip}},
	"fedavg": {fam: famFedAvg, minModels: 1, params: map[string]param{
		"samples": {kind: pNumber, perModel: true, global: true, rangeOK: positive}, "lambda": pLambda, "clip": pClip}},
	"median": {fam: famMedian, minModels: 1, params: map[string]param{"lambda": pLambda, "clip": pClip}},
	"trimmed_mean": {fam: famTrimmed, minModels: 1, params: map[string]param{
		"beta": {kind: pNumber, def: 0.1, rangeOK: belowHalf}, "lambda": pLambda, "clip": pClip}},
	"krum": {fam: famKrum, minModels: 1, params: map[string]param{
		"f": {kind: pInt, global: true, rangeOK: nonNegative}, "m": {kind: pInt, def: 1.0, global: true, rangeOK: positive},
		"lambda": pLambda, "clip": pClip}},
}

// methodNames lists the supported methods, sorted, for messages.
func methodNames() string {
	var names []string
	for n := range methods {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// paramNames lists a method's parameters, sorted, for messages.
func (m method) paramNames(perModel bool) string {
	var names []string
	for n, p := range m.params {
		if !perModel || p.perModel {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// checkValue checks a parsed setting against its parameter's kind and range.
func (p param) checkValue(s setting) error {
	if p.global && s.varies() {
		return fmt.Errorf("takes one value for the whole merge, not filters or a gradient")
	}
	nums, others := s.numbers(), s.scalars()
	switch p.kind {
	case pBool, pEnum:
		if len(nums) > 0 || s.grad != nil {
			return fmt.Errorf("must be %s, got a number", p.describe())
		}
		for _, v := range others {
			if !p.accepts(v) {
				return fmt.Errorf("must be %s, got %v", p.describe(), v)
			}
		}
		return nil
	}
	if len(others) > 0 {
		return fmt.Errorf("must be a number, got %v", others[0])
	}
	for _, f := range nums {
		if p.kind == pInt && f != math.Trunc(f) {
			return fmt.Errorf("must be a whole number, got %v", f)
		}
		if p.rangeOK != nil {
			if want := p.rangeOK(f); want != "" {
				return fmt.Errorf("must be %s, got %v", want, f)
			}
		}
	}
	return nil
}

func (p param) accepts(v any) bool {
	switch p.kind {
	case pBool:
		_, ok := v.(bool)
		return ok
	case pEnum:
		s, ok := v.(string)
		return ok && slices.Contains(p.enum, s)
	}
	return false
}

func (p param) describe() string {
	if p.kind == pEnum {
		return "one of " + strings.Join(p.enum, ", ")
	}
	return "true or false"
}
