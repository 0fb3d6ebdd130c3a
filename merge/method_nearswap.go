package merge

import "math"

// nearswap (mergekit's, after alchemonaut's QuartetAnemoi) takes the one
// model's value where it is near the base's and stays near the base
// elsewhere: per element, with δ = θ₁ − θ₀,
//
//	w = clamp(t / max(|δ|, 1e-6), 0, 1),  out = θ₀ + w·δ
//
// which is mergekit's w·θ₁ + (1−w)·θ₀ with one rounding fewer.

func init() {
	register(method{
		name:      "nearswap",
		params:    map[string]param{"t": {kind: pNumber, required: true}, "clip": pClip},
		minModels: 1,
		maxModels: 1,
		plan: eachTensor(func(s *tensorScope) (*tensorOp, error) {
			t, err := s.number("t")
			if err != nil {
				return nil, err
			}
			clip, err := s.clipParam()
			return &tensorOp{clip: clip, combine: nearSwap{float32(t)}}, err
		}),
	})
}

// nearSwap is out = base + float32(w·x), w = min(1, max(0, t / max(|x|,
// 1e-6))) in float32: the loop a kernel.NearSwap would run.
type nearSwap struct{ t float32 }

func (n nearSwap) combine(c *chunk) {
	out, base := c.out, c.base[:len(c.out)]
	for i, x := range c.xs[0][:len(out)] {
		a := max(abs32(x), 1e-6)
		w := min(1, max(0, n.t/a))
		out[i] = base[i] + float32(w*x)
	}
}

// abs32 is |x|, exactly.
func abs32(x float32) float32 { return float32(math.Abs(float64(x))) }
