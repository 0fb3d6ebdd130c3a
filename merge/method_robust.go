package merge

// The coordinate-wise robust aggregations, for a group that may include
// broken or hostile members: θ₀ + λ·(median of the δᵢ), and θ₀ + λ·(mean of
// the δᵢ after dropping the ⌊β·n⌋ largest and smallest), per element.

func init() {
	register(method{
		name:      "median",
		params:    map[string]param{"lambda": pLambda, "clip": pClip},
		minModels: 1,
		plan: eachTensor(func(t *tensorScope) (*tensorOp, error) {
			return planRobust(t, func(lambda float32) combiner { return median{lambda} })
		}),
	})
	register(method{
		name: "trimmed_mean",
		params: map[string]param{
			"beta": {kind: pNumber, def: 0.1, rangeOK: belowHalf}, "lambda": pLambda, "clip": pClip},
		minModels: 1,
		plan: eachTensor(func(t *tensorScope) (*tensorOp, error) {
			beta, err := t.number("beta")
			if err != nil {
				return nil, err
			}
			k := int(beta * float64(len(t.inputs)))
			return planRobust(t, func(lambda float32) combiner { return trimmed{k, lambda} })
		}),
	})
}

// planRobust makes the op of a robust method with combiner c.
func planRobust(t *tensorScope, c func(lambda float32) combiner) (*tensorOp, error) {
	lambda, err := t.number("lambda")
	if err != nil {
		return nil, err
	}
	clip, err := t.clipParam()
	return &tensorOp{clip: clip, combine: c(float32(lambda))}, err
}

// median is out = base + λ·med (kernels_robust.go).
type median struct{ lambda float32 }

func (m median) combine(c *chunk) { medianCombine(c.out, c.base, c.xs, m.lambda) }

func (m median) robustEncoded() (int, float32) { return -1, m.lambda }

// trimmed is out = base + λ·mean, k dropped at either end (kernels_robust.go).
type trimmed struct {
	k      int
	lambda float32
}

func (m trimmed) combine(c *chunk) { trimmedCombine(c.out, c.base, c.xs, m.k, m.lambda) }

func (m trimmed) robustEncoded() (int, float32) { return m.k, m.lambda }
