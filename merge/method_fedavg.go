package merge

import (
	"fmt"
	"math"
)

// fedavg is federated averaging: θ₀ + λ·Σ nᵢδᵢ / Σ nᵢ, nᵢ the model's
// sample count, from the recipe's samples parameter or the delta's
// manifest.

func init() {
	register(method{
		name: "fedavg",
		params: map[string]param{
			"samples": {kind: pNumber, perModel: true, global: true, rangeOK: positive}, "lambda": pLambda, "clip": pClip},
		minModels:   1,
		weightParam: "samples",
		plan:        planFedAvg,
	})
}

// planFedAvg takes each input's share of the samples, once for the merge.
func planFedAvg(s *mergeScope) (tensorPlanner, error) {
	var samples []float64
	for _, in := range s.inputs {
		n, ok := s.number("samples", in.index)
		if !ok {
			n = in.samples
		}
		if !(n > 0) || math.IsInf(n, 0) {
			return nil, fmt.Errorf("%w: fedavg: models[%d] (%s) records no sample count: give it in its manifest or as parameter samples", ErrRecipe, in.index, in.model.Name)
		}
		samples = append(samples, n)
	}
	total := sumOf(samples)
	share := make([]float32, len(samples))
	for i, n := range samples {
		share[i] = float32(n / total)
	}
	return func(t *tensorScope) (*tensorOp, error) {
		lambda, err := t.number("lambda")
		if err != nil {
			return nil, err
		}
		clip, err := t.clipParam()
		return &tensorOp{clip: clip, combine: &sum{w: share, div: 1, lambda: float32(lambda)}}, err
	}, nil
}
