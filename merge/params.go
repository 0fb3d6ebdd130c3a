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

// Parameters shared by several methods (method_*.go).
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
