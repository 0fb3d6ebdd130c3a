package hub_test

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/potluck-hub/potluck/safetensors"
)

// Nothing the hub signs or admits holds garbage values: not a delta of
// huge values over a base tensor of norm 0, not a base holding NaN, not a
// merge whose recipe scales its deltas beyond every bound.

const garbageShard, garbageTensor = "model-00002-of-00002.safetensors", "model.norm.weight"

// zeroTensor rewrites a base's tensor as zeros, keeping its dtype.
func zeroTensor(t *testing.T, dir, shard, name string) {
	t.Helper()
	rewriteShard(t, filepath.Join(dir, shard), func(specs []safetensors.TensorSpec, data [][]byte) {
		for i := range specs {
			if specs[i].Name == name {
				data[i] = make([]byte, len(data[i]))
			}
		}
	})
}

// A base tensor of norm 0 gives no relative bound: a delta over it is
// bounded by its root mean square instead (Screening.MaxZeroBaseRMS).
func TestNormScreenOverZeroBaseTensor(t *testing.T) {
	for _, c := range []struct {
		name  string
		value float64
		want  string // "" for accepted
	}{
		{"Huge", 3e38, `tensor "model.norm.weight": the base tensor's norm is 0, and the delta's root mean square 3e+38 is above the bound 1 for a zero base tensor (Screening.MaxZeroBaseRMS, hub serve --max-zero-base-rms)`},
		{"Small", 0.01, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			hs := newHarness(t)
			m := writeModels(t, hs.dir)
			zeroed := filepath.Join(hs.dir, "base-zeroed")
			copyDir(t, m.base, zeroed)
			zeroTensor(t, zeroed, garbageShard, garbageTensor)
			base, err := hs.registerBase(zeroed, hs.keyA)
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(hs.dir, "delta")
			makeDelta(t, m.base, m.ftA, dir, base.CID)
			setTensor(t, dir, garbageShard, garbageTensor, func(int) float64 { return c.value })
			if c.want == "" {
				if _, err := hs.publish(dir, hs.keyA, base.CID); err != nil {
					t.Fatal(err)
				}
				return
			}
			hs.expectRefused(t, codes.InvalidArgument, []string{c.want}, func() error {
				_, err := hs.publish(dir, hs.keyA, base.CID)
				if err != nil {
					if v := verdictOf(t, err); v.Checks[len(v.Checks)-1].Name != "norm" {
						t.Errorf("refused by %+v, want the norm stage", v.Checks[len(v.Checks)-1])
					}
				}
				return err
			})
		})
	}
}

// A base's values are checked when it is registered: one NaN or Inf and
// it is refused by the values stage, naming the tensor and the element.
func TestBaseValuesChecked(t *testing.T) {
	for _, c := range []struct {
		name string
		v    float64
		want string
	}{
		{"NaN", math.NaN(), `tensor "model.norm.weight": element 3 is NaN`},
		{"Inf", math.Inf(-1), `tensor "model.norm.weight": element 3 is -Inf`},
	} {
		t.Run(c.name, func(t *testing.T) {
			hs := newHarness(t)
			m := writeModels(t, hs.dir)
			bad := filepath.Join(hs.dir, "base-bad")
			copyDir(t, m.base, bad)
			setBaseElement(t, bad, garbageShard, garbageTensor, 3, c.v)
			hs.expectRefused(t, codes.InvalidArgument, []string{c.want}, func() error {
				_, err := hs.registerBase(bad, hs.keyA)
				if err != nil {
					if v := verdictOf(t, err); v.Checks[len(v.Checks)-1].Name != "values" {
						t.Errorf("refused by %+v, want the values stage", v.Checks[len(v.Checks)-1])
					}
				}
				return err
			})
		})
	}
}

// setBaseElement sets element i of a bf16 or f32 tensor to v.
func setBaseElement(t *testing.T, dir, shard, name string, i int, v float64) {
	t.Helper()
	rewriteShard(t, filepath.Join(dir, shard), func(specs []safetensors.TensorSpec, data [][]byte) {
		for k := range specs {
			if specs[k].Name != name {
				continue
			}
			vals := make([]float32, len(data[k])/specs[k].DType.Size())
			if err := safetensors.DecodeFloat32(vals, data[k], specs[k].DType); err != nil {
				t.Fatal(err)
			}
			vals[i] = float32(v)
			if err := safetensors.EncodeFloat32(data[k], vals, specs[k].DType); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// A recipe's scalars cannot make the hub sign garbage: a merge whose
// values overflow, or whose change to a base tensor is beyond the norm
// bound, is refused with InvalidArgument naming the tensor (lambda 1e300
// failed with Internal; lambda 1e38 and weight -1e6 were signed).
func TestRecipeScalarsCannotSignGarbage(t *testing.T) {
	for _, c := range []struct {
		name           string
		lambda, weight float64
		want           []string // nil: accepted
	}{
		{"Lambda1e300", 1e300, 1, []string{"is not finite in"}},
		{"Lambda1e38", 1e38, 1, []string{"merge output: tensor", "its change from the base has norm", "(bound 10×: Screening.MaxNormRatio, hub serve --max-norm-ratio)"}},
		{"WeightMinus1e6", 1, -1e6, []string{"merge output: tensor", "its change from the base has norm"}},
		{"Ordinary", 1, -1, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			hs := newHarness(t)
			_, base, d, _ := hs.baseAndDelta(t)
			rec := fmt.Sprintf("merge_method: task_arithmetic\nbase_model: %s\nparameters:\n  lambda: %g\nmodels:\n  - model: %s\n    parameters:\n      weight: %g\n",
				base.CID, c.lambda, d.CID, c.weight)
			if c.want == nil {
				if _, err := hs.client.Merge(context.Background(), []byte(rec)); err != nil {
					t.Fatal(err)
				}
				return
			}
			before := len(hs.mustList())
			_, err := hs.client.Merge(context.Background(), []byte(rec))
			if err == nil {
				t.Fatal("merged")
			}
			st := grpcStatus(t, err)
			if st.Code() != codes.InvalidArgument {
				t.Errorf("code %v, want InvalidArgument: %s", st.Code(), st.Message())
			}
			for _, w := range c.want {
				if !strings.Contains(st.Message(), w) {
					t.Errorf("message %q does not mention %q", st.Message(), w)
				}
			}
			if after := len(hs.mustList()); after != before {
				t.Errorf("%d releases listed after the refused merge, %d before", after, before)
			}
		})
	}
}
