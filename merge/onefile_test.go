package merge_test

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/potluck-hub/potluck/safetensors"
)

// A method declared in one file (test_signstep, method_internal_test.go)
// runs through the whole engine: the bits its combiner gives, on every
// dtype, with one worker and with several sharing a tensor's segments.
func TestOneFileMethod(t *testing.T) {
	defer func(prev []methodTensor) { methodTensors = prev }(methodTensors)
	methodTensors = append(slices.Clip(methodTensors), methodTensor{"model.layers.1.self_attn.q_proj.weight", safetensors.BF16, []int64{32, 40}, 1})
	f := newMethodFixture(t, 1, []float64{1})
	const tau = float32(0.05)
	yaml := fmt.Sprintf("merge_method: test_signstep\nbase_model: %q\nparameters: {t: %v}\nmodels: [{model: %q}]\n", f.base, tau, f.deltas[0])
	for _, workers := range []int{1, 3} {
		out := outDir(t)
		runJob(t, yaml, out, workers, 64, 0)
		got := readTensors(t, out)
		for _, bt := range f.tensors {
			ds := f.deltaVals(bt.Name, len(bt.Vals))[0]
			want := tensor{Name: bt.Name, DType: bt.DType, Shape: bt.Shape, Vals: make([]float64, len(bt.Vals))}
			for e, b := range bt.Vals {
				step := float32(0)
				if ds[e] != 0 {
					step = float32(math.Copysign(float64(tau), ds[e]))
				}
				want.Vals[e] = roundTo(t, bt.DType, float64(float32(b)+step))
			}
			if string(got[bt.Name].Raw) != string(encode(t, want)) {
				t.Errorf("workers %d: %s differs from the combiner's bits", workers, bt.Name)
			}
		}
	}
}
