package merge

import "math"

// slerp interpolates spherically from the base θ₀ (t = 0) to the one model
// θ₁ = θ₀ + δ (t = 1), per tensor, as mergekit does.

func init() {
	register(method{
		name:      "slerp",
		params:    map[string]param{"t": {kind: pNumber, required: true}, "clip": pClip},
		minModels: 1,
		maxModels: 1,
		plan: eachTensor(func(s *tensorScope) (*tensorOp, error) {
			t, err := s.number("t")
			if err != nil {
				return nil, err
			}
			clip, err := s.clipParam()
			return &tensorOp{clip: clip, stats: func(tr *tensorRun) (combiner, error) { return slerpCoefficients(tr, t) }}, err
		}),
	})
}

// slerpCoefficients computes slerp's s₀ and s₁ from θ₀ and θ₁ as mergekit
// does: each normalised by its norm when that exceeds 1e-8; when
// |cos| > 0.9995 a linear interpolation (s₀ = 1−t, s₁ = t), otherwise
// s₀ = sin(Ω−tΩ)/sin Ω, s₁ = sin(tΩ)/sin Ω with Ω = acos(cos).
func slerpCoefficients(tr *tensorRun, t float64) (combiner, error) {
	var aa, bb, ab [8]float64
	th := tr.e.tmp
	err := tr.passes(func(off int64, k int) error {
		base, err := tr.readBase(off, k)
		if err != nil {
			return err
		}
		if err := tr.load(0, off, th[:k], false); err != nil {
			return err
		}
		addInto(th[:k], base)
		lane := int(off & 7)
		dotLanes(&aa, lane, base, base)
		dotLanes(&bb, lane, th[:k], th[:k])
		dotLanes(&ab, lane, base, th[:k])
		return nil
	})
	if err != nil {
		return nil, err
	}
	unit := func(sq float64) float64 {
		if n := math.Sqrt(sq); n > 1e-8 {
			return n
		}
		return 1
	}
	cos := laneSum(&ab) / (unit(laneSum(&aa)) * unit(laneSum(&bb)))
	if math.Abs(cos) > 0.9995 {
		return &slerpMix{s0: float32(1 - t), s1: float32(t)}, nil
	}
	omega := math.Acos(cos)
	sin := math.Sin(omega)
	ot := float64(omega * t)
	return &slerpMix{s0: float32(math.Sin(omega-ot) / sin), s1: float32(math.Sin(ot) / sin)}, nil
}

// slerpMix is out = s₀·θ₀ + s₁·θ₁, θ₁ = base + x.
type slerpMix struct{ s0, s1 float32 }

func (s *slerpMix) combine(c *chunk) {
	th := c.tmp
	copy(th, c.xs[0])
	addInto(th, c.base)
	lerp2(c.out, c.base, th, s.s0, s.s1)
}
