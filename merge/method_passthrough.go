package merge

import (
	"fmt"
	"io"

	"github.com/potluck-hub/potluck/safetensors"
)

// passthrough outputs its one model's tensors as they are, each multiplied
// by the model's scale when it is not 1, as mergekit's passthrough does.
// The model is usually the base itself (a recipe without base_model, whose
// one model is then the base): its tensors are copied byte for byte, as
// mergekit copies them. A delta release or a LoRA adapter of the base
// passes through as θ₀ + δ. A full model other than the base is refused:
// mergekit passes one model through, and θ₀ + (θ₁ − θ₀) in float32 need
// not give θ₁'s bits back.

func init() {
	register(method{
		name:         "passthrough",
		params:       map[string]param{"scale": {kind: pNumber, def: 1.0, perModel: true}, "clip": pClip},
		minModels:    0,
		baseIsInput:  true,
		baseOptional: true,
		check:        checkPassthrough,
		plan:         planPassthrough,
	})
}

// checkPassthrough refuses a recipe that lists more than one model, as
// mergekit's passthrough (of models; slices are for layer stacking) does.
func checkPassthrough(r *Recipe) error {
	if len(r.Models) != 1 {
		return fmt.Errorf("%w: passthrough takes exactly one model, the recipe lists %d", ErrRecipe, len(r.Models))
	}
	return nil
}

func planPassthrough(s *mergeScope) (tensorPlanner, error) {
	if in := s.inputs[0]; in.kind == inFull {
		return nil, fmt.Errorf("%w: passthrough of %s: a full model other than base_model; mergekit passes one model through as it is: leave base_model out, or pass a delta or an adapter of the base", ErrRecipe, in.model.Name)
	}
	return func(t *tensorScope) (*tensorOp, error) {
		scale, err := t.perInput("scale")
		if err != nil {
			return nil, err
		}
		clip, err := t.clipParam()
		stats := func(tr *tensorRun) (combiner, error) {
			return &passThrough{scale: float32(scale[0]), same: tr.rd[0] == nil}, nil
		}
		return &tensorOp{clip: clip, stats: stats}, err
	}, nil
}

// passThrough is out = s·θ, θ = base + x (θ = base when same: the input
// leaves the tensor as the base has it), s = 1 leaving θ as it is.
type passThrough struct {
	scale float32
	same  bool
}

func (p *passThrough) combine(c *chunk) {
	copy(c.out, c.base)
	if !p.same {
		addInto(c.out, c.xs[0])
	}
	if p.scale != 1 {
		scaleBy(c.out, p.scale)
	}
}

func (p *passThrough) verbatim() bool { return p.same && p.scale == 1 }

// verbatim is a combiner that may leave a tensor as the base has it.
type verbatim interface{ verbatim() bool }

// verbatim reports whether the tensor is the base's, unchanged, and in
// the output dtype already: the engine then copies the base's bytes
// (copyBase), as it copies a tensor that is not float, rather than
// widening them to float32 and back (which would round a float64 tensor).
func (tr *tensorRun) verbatim(outDT safetensors.DType) bool {
	v, ok := tr.comb.(verbatim)
	return ok && v.verbatim() && outDT == tr.bt.DType
}

// copyBase writes the base tensor's bytes to w a chunk at a time, each
// checked finite as a merged chunk is.
func (tr *tensorRun) copyBase(w io.Writer) error {
	e := tr.e
	return tr.passes(func(off int64, k int) error {
		raw, err := rawAt(e.r.p.base, tr.bt, off, k, e.raw)
		if err != nil {
			return err
		}
		if i := firstNonFiniteEncoded(raw, tr.bt.DType); i >= 0 {
			return fmt.Errorf("%w: tensor %q: element %d of the base is not finite", ErrOverflow, tr.bt.Name, off+int64(i))
		}
		_, err = w.Write(raw)
		return err
	})
}
