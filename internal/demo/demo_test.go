package demo_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck/internal/demo"
	"github.com/potluck-hub/potluck/node"
	"github.com/potluck-hub/potluck/safetensors"
	"github.com/potluck-hub/potluck/signing"
	"github.com/potluck-hub/potluck/store"
)

// model is every tensor of a model directory: floats decoded here (bf16 is
// the top half of a float32), other dtypes kept as bytes.
type model map[string]struct {
	dtype safetensors.DType
	shape []int64
	f     []float64
	raw   []byte
}

func readModel(t *testing.T, dir string) model {
	t.Helper()
	m, err := safetensors.OpenModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	out := model{}
	for _, mt := range m.Tensors() {
		raw, err := m.ReadTensor(mt.Name, nil)
		if err != nil {
			t.Fatal(err)
		}
		e := out[mt.Name]
		e.dtype, e.shape, e.raw = mt.DType, mt.Shape, slices.Clone(raw)
		switch mt.DType {
		case safetensors.BF16:
			for i := 0; i < len(raw); i += 2 {
				e.f = append(e.f, float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(raw[i:]))<<16)))
			}
		case safetensors.F32:
			for i := 0; i < len(raw); i += 4 {
				e.f = append(e.f, float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[i:]))))
			}
		case safetensors.I64:
		default:
			t.Fatalf("%s: tensor %q: dtype %s not decoded by the test", dir, mt.Name, mt.DType)
		}
		out[mt.Name] = e
	}
	return out
}

// ulp is the spacing of a float format with the given significand bits in
// the binade of x.
func ulp(x float64, bits int) float64 {
	_, e := math.Frexp(math.Abs(x)) // |x| in [2^(e-1), 2^e)
	return math.Max(math.Ldexp(1, e-bits), 0x1p-149)
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	var log bytes.Buffer
	r, err := demo.Run(context.Background(), &log, dir)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), "done: every signature, digest, CID and log proof checked") {
		t.Errorf("the demo's log does not end with its last step:\n%s", log.String())
	}
	if len(r.DeltaCIDs) != 2 || r.MergeCID == "" || r.BaseCID == "" {
		t.Fatalf("result: base %q, deltas %v, merge %q", r.BaseCID, r.DeltaCIDs, r.MergeCID)
	}

	t.Run("MergeCIDIsThePulledDirectory", func(t *testing.T) {
		// `ipfs add -r` of the pulled directory without model.sig.
		nosig := filepath.Join(t.TempDir(), "merged")
		if err := os.CopyFS(nosig, os.DirFS(r.MergedDir)); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(nosig, signing.SignatureFile)); err != nil {
			t.Fatalf("the pulled merge has no %s: %v", signing.SignatureFile, err)
		}
		c, err := store.HashDir(nosig)
		if err != nil {
			t.Fatal(err)
		}
		if c.String() != r.MergeCID {
			t.Errorf("pulled merge directory has CID %s, the demo reports %s", c, r.MergeCID)
		}
		base, err := store.HashDir(r.BaseDir)
		if err != nil {
			t.Fatal(err)
		}
		if base.String() != r.BaseCID {
			t.Errorf("base directory has CID %s, the demo reports %s", base, r.BaseCID)
		}
		if _, err := node.VerifyDir(r.MergedDir, []*signing.PublicKey{r.HubKey}); err != nil {
			t.Errorf("the pulled merge does not verify with the hub key: %v", err)
		}
	})

	// The merge is base + δA + δB (task arithmetic, λ = 1, weights 1).
	//
	// Error bound: the hub widens bf16/f32 inputs to float32 exactly. Each
	// delta was rounded once to its tensor's dtype when it was made (≤ ½ ulp
	// of δᵢ each); the sum is rounded once to the output dtype (≤ ½ ulp of
	// the float32 result, which lies within ulp(M) of the reference, hence ≤
	// ulp(M) even across a power of two); float32 sums add ~2⁻²⁴·M. With
	// M = max(|ref|, |δA|, |δB|): ≤ 2 ulps of M in the tensor's dtype, plus
	// 2⁻²⁰·M; float32 tensors also round the accumulator, so we allow 4
	// float32 ulps. A missing or doubled delta is off by |δ|, ~20 bf16 ulps.
	t.Run("MergedValues", func(t *testing.T) {
		base, a, b, merged := readModel(t, r.BaseDir), readModel(t, r.FineTuned), readModel(t, r.FineTunedB), readModel(t, r.MergedDir)
		if len(merged) != len(base) {
			t.Errorf("merged model has %d tensors, the base %d", len(merged), len(base))
		}
		var floats, moved, bad int
		for name, bt := range base {
			mt, ok := merged[name]
			if !ok || mt.dtype != bt.dtype || !slices.Equal(mt.shape, bt.shape) {
				t.Errorf("tensor %q: merged %s%v (present %v), base %s%v", name, mt.dtype, mt.shape, ok, bt.dtype, bt.shape)
				continue
			}
			if bt.f == nil {
				if !bytes.Equal(mt.raw, bt.raw) {
					t.Errorf("integer tensor %q differs from the base's", name)
				}
				continue
			}
			for i, bv := range bt.f {
				da, db := a[name].f[i]-bv, b[name].f[i]-bv
				ref := bv + da + db
				mag := math.Max(math.Abs(ref), math.Max(math.Abs(da), math.Abs(db)))
				tol := 2*ulp(mag, 8) + mag*0x1p-20
				if mt.dtype == safetensors.F32 {
					tol = 4 * ulp(mag, 24)
				}
				floats++
				if math.Abs(ref-bv) > tol {
					moved++
				}
				if diff := math.Abs(mt.f[i] - ref); !(diff <= tol) {
					if bad++; bad <= 5 {
						t.Errorf("tensor %q element %d: merged %v, base + δA + δB = %v: off by %g, bound %g", name, i, mt.f[i], ref, diff, tol)
					}
				}
			}
		}
		if bad > 5 {
			t.Errorf("... %d elements out of bounds in all", bad)
		}
		if moved < floats/2 {
			t.Errorf("only %d of %d reference elements differ from the base beyond the bound: the check would not see a wrong merge", moved, floats)
		}
		t.Logf("%d float elements checked, %d moved beyond the bound", floats, moved)
	})

	t.Run("SecondRoundBuildsOnTheMerge", func(t *testing.T) { checkChained(t, r) })

	t.Run("LocalMergeIsIdentical", func(t *testing.T) {
		// The locally reproduced merge holds the same bytes, file by file.
		ents, err := os.ReadDir(r.LocalDir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			want, _ := os.ReadFile(filepath.Join(r.LocalDir, e.Name()))
			got, err := os.ReadFile(filepath.Join(r.MergedDir, e.Name()))
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: the hub's merge and the local one differ (%v)", e.Name(), err)
			}
		}
	})
}
