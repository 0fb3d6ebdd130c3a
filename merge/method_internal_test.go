package merge

import "testing"

// Every registered method declares what the engine needs of it: a plan,
// a model count (none beside the base only for a method that may pass the
// base through), a clip parameter (every method takes one), and defaults
// its own parameter checks accept.
func TestMethodsDeclared(t *testing.T) {
	for name, m := range methods {
		if m.name != name || m.plan == nil {
			t.Errorf("%s: registered as %q, plan set: %v", name, m.name, m.plan != nil)
		}
		if m.minModels < 0 || (m.minModels == 0 && !m.baseIsInput) || (m.maxModels != 0 && m.maxModels < m.minModels) {
			t.Errorf("%s: takes %d to %d models", name, m.minModels, m.maxModels)
		}
		if _, ok := m.params["clip"]; !ok {
			t.Errorf("%s: no clip parameter", name)
		}
		for pn, p := range m.params {
			if p.def == nil {
				continue
			}
			if p.required {
				t.Errorf("%s: parameter %s is required and has a default", name, pn)
			}
			if err := p.checkValue(setting{scalar: p.def}); err != nil {
				t.Errorf("%s: parameter %s: its default %v: %v", name, pn, p.def, err)
			}
		}
	}
}

// test_signstep is declared here the way a method's own file declares it,
// to show that a method needs nothing beyond its file: a sign step on
// exactly one model, θ₀ + t·sign(δ) per element (θ₀ where δ = 0).
// TestOneFileMethod runs it.
func init() {
	register(method{
		name:      "test_signstep",
		params:    map[string]param{"t": {kind: pNumber, required: true, rangeOK: positive}, "clip": pClip},
		minModels: 1,
		maxModels: 1,
		plan: eachTensor(func(s *tensorScope) (*tensorOp, error) {
			t, err := s.number("t")
			if err != nil {
				return nil, err
			}
			clip, err := s.clipParam()
			return &tensorOp{clip: clip, combine: signStep{float32(t)}}, err
		}),
	})
}

type signStep struct{ t float32 }

func (n signStep) combine(c *chunk) {
	for i, x := range c.xs[0] {
		var step float32
		switch {
		case x > 0:
			step = n.t
		case x < 0:
			step = -n.t
		}
		c.out[i] = c.base[i] + step
	}
}
