package merge

// The task-vector methods, mergekit's generalized task arithmetic: each
// thins every delta with a mask (or none), then sums them, θ₀ + λ·Σ wᵢδᵢ,
// or elects a sign per element and takes the mean of the agreeing values
// (TIES). Each is the pair of its mask and its combination, with
// mergekit's defaults for normalize and rescale.

func init() {
	register(taskMethod("task_arithmetic", nil, false, false, false))
	register(taskMethod("ties", &magnitudeMasks, true, true, false))
	register(taskMethod("dare_linear", &randomMasks, false, false, true))
	register(taskMethod("dare_ties", &randomMasks, true, false, true))
	register(taskMethod("breadcrumbs", &outlierMasks, false, false, false))
	register(taskMethod("breadcrumbs_ties", &outlierMasks, true, false, false))
	register(taskMethod("della", &rankMasks, true, true, true))
	register(taskMethod("della_linear", &rankMasks, false, false, true))
}

// maskSpec is a way of thinning deltas that a task-vector method takes:
// its parameters, beside rescale, and its masker for one tensor.
type maskSpec struct {
	params map[string]param
	rows   bool // the mask is taken per row: chunks hold whole rows
	plan   func(s *tensorScope, rescale bool) (masker, error)
}

// taskMethod declares a task-vector method: its mask (nil: none), whether
// it elects signs (TIES), and its defaults for normalize and rescale.
func taskMethod(name string, mask *maskSpec, consensus, normalize, rescale bool) method {
	ps := map[string]param{"weight": pWeight, "lambda": pLambda, "normalize": boolParam(normalize), "clip": pClip}
	if mask != nil {
		for k, p := range mask.params {
			ps[k] = p
		}
		ps["rescale"] = boolParam(rescale)
	}
	if consensus {
		ps["consensus"] = pConsensus
		ps["int8_mask"] = pInt8Mask
	}
	plan := func(s *mergeScope) (tensorPlanner, error) {
		paper := s.choice("consensus") == "paper"
		return func(t *tensorScope) (*tensorOp, error) {
			return planTask(t, mask, consensus, paper)
		}, nil
	}
	random := mask != nil && (mask == &randomMasks || mask == &rankMasks)
	cuts := mask == &magnitudeMasks || mask == &outlierMasks
	return method{name: name, params: ps, minModels: 1, plan: plan, randomMasks: random, magnitudeCuts: cuts}
}

// planTask makes one tensor's op for a task-vector method.
func planTask(t *tensorScope, mask *maskSpec, consensus, paper bool) (*tensorOp, error) {
	w, err := t.perInput("weight")
	if err != nil {
		return nil, err
	}
	lambda, err := t.number("lambda")
	if err != nil {
		return nil, err
	}
	op := &tensorOp{}
	if op.clip, err = t.clipParam(); err != nil {
		return nil, err
	}
	normalize := t.flag("normalize")
	if mask != nil {
		op.rows = mask.rows
		if op.mask, err = mask.plan(t, t.flag("rescale")); err != nil {
			return nil, err
		}
	}
	if consensus {
		op.combine = &ties{w: toF32(w), lambda: float32(lambda), normalize: normalize, paper: paper}
	} else {
		op.combine = newSum(w, normalize, lambda)
	}
	return op, nil
}
