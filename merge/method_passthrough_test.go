package merge_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck/merge"
	"github.com/potluck-hub/potluck/merge/kernel"
	"github.com/potluck-hub/potluck/safetensors"
)

// randomBits returns n elements of dt drawn as random bit patterns, every
// one finite: subnormals, −0 and values float32 cannot hold (for F64)
// among them.
func randomBits(rng *rand.Rand, dt safetensors.DType, n int) []byte {
	size := dt.Size()
	b := make([]byte, n*size)
	for i := 0; i < n; i++ {
		for {
			v := rng.Uint64()
			switch dt {
			case safetensors.F64:
				if v&0x7FF0_0000_0000_0000 == 0x7FF0_0000_0000_0000 {
					continue
				}
				binary.LittleEndian.PutUint64(b[8*i:], v)
			case safetensors.F32:
				if uint32(v)&0x7F80_0000 == 0x7F80_0000 {
					continue
				}
				binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
			case safetensors.BF16, safetensors.F16:
				inf := uint16(0x7F80)
				if dt == safetensors.F16 {
					inf = 0x7C00
				}
				if uint16(v)&inf == inf {
					continue
				}
				binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
			default:
				binary.LittleEndian.PutUint64(b[8*i:], v)
			}
			break
		}
	}
	return b
}

// passthrough copies its one model's bytes exactly, float64 tensors,
// subnormals and −0 included, whatever the workers, chunks and kernels,
// with or without base_model naming it.
func TestPassthroughCopiesBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	var ts []tensor
	for _, s := range []struct {
		name  string
		dt    safetensors.DType
		shape []int64
	}{
		{"model.embed_tokens.weight", safetensors.BF16, []int64{40, 50}},
		{"model.layers.0.self_attn.o_proj.weight", safetensors.F16, []int64{30, 20}},
		{"model.layers.1.mlp.up_proj.weight", safetensors.F32, []int64{700}},
		{"model.rotary.inv_freq", safetensors.F64, []int64{9}},
		{"model.position_ids", safetensors.I64, []int64{4}},
	} {
		n := int(s.shape[0])
		if len(s.shape) > 1 {
			n *= int(s.shape[1])
		}
		ts = append(ts, tensor{Name: s.name, DType: s.dt, Shape: s.shape, Raw: randomBits(rng, s.dt, n)})
	}
	dir := filepath.Join(t.TempDir(), "model")
	writeModel(t, dir, map[string][]tensor{"model.safetensors": ts})
	writeFile(t, filepath.Join(dir, "config.json"), `{"model_type": "llama", "num_hidden_layers": 2}`)
	for _, y := range []string{
		fmt.Sprintf("merge_method: passthrough\nmodels: [{model: %q}]\n", dir),
		fmt.Sprintf("merge_method: passthrough\nbase_model: %q\nmodels: [{model: %q}]\n", dir, dir),
	} {
		out := outDir(t)
		runJob(t, y, out, 1, 0, 0)
		got := readTensors(t, out)
		for _, rt := range ts {
			if !bytes.Equal(got[rt.Name].Raw, rt.Raw) || got[rt.Name].DType != rt.DType {
				t.Errorf("%s: the output is not the model's bytes", rt.Name)
			}
		}
		if b, err := os.ReadFile(filepath.Join(out, "config.json")); err != nil || !strings.Contains(string(b), "llama") {
			t.Errorf("config.json not the model's: %q, %v", b, err)
		}
		many := outDir(t)
		restore := kernel.ForceGeneric()
		runJob(t, y, many, 4, 64, 0)
		restore()
		compareOutputs(t, out, many, "1 worker and 4 workers with 64-element chunks, generic kernels")
	}
}

// scale multiplies a tensor, and scale 1 leaves it as it is: mergekit's
// test_passthrough_scale, zeroing o_proj.
func TestPassthroughScale(t *testing.T) {
	f := newMethodFixture(t, 1, []float64{1})
	y := fmt.Sprintf("merge_method: passthrough\nmodels:\n  - model: %q\n    parameters:\n      scale:\n        - {filter: up_proj, value: [0.3, 0.9]}\n        - {filter: norm, value: 0}\n        - {value: 1}\n", f.base)
	out := outDir(t)
	runJob(t, y, out, 1, 0, 0)
	got := readTensors(t, out)
	for k, bt := range f.tensors {
		scale := 1.0
		switch {
		case strings.Contains(bt.Name, "up_proj"):
			scale = 0.3 + 0.6*methodTensors[k].pos
		case strings.Contains(bt.Name, "norm"):
			scale = 0
		}
		ref, mag := make([]float64, len(bt.Vals)), make([]float64, len(bt.Vals))
		for e, v := range bt.Vals {
			ref[e], mag[e] = scale*v, math.Abs(scale*v)
		}
		if bad := checkValues(t, bt.Name, bt.DType, got[bt.Name].Raw, ref, mag, 2, true); bad > 0 {
			t.Errorf("%s: %d elements off", bt.Name, bad)
		}
		if scale == 1 && !bytes.Equal(got[bt.Name].Raw, encode(t, bt)) {
			t.Errorf("%s: scale 1 changed the bytes", bt.Name)
		}
	}
}

// A delta of the base passes through as θ₀ + δ; a full model other than
// the base, or two models, are refused as mergekit refuses them.
func TestPassthroughInputs(t *testing.T) {
	f := newMethodFixture(t, 1, []float64{1})
	y := fmt.Sprintf("merge_method: passthrough\nbase_model: %q\nmodels: [{model: %q}]\n", f.base, f.deltas[0])
	out := outDir(t)
	runJob(t, y, out, 2, 64, 0)
	got := readTensors(t, out)
	for _, bt := range f.tensors {
		ref, mag := taskArithmetic(bt.Vals, 1, []float64{1}, f.deltaVals(bt.Name, len(bt.Vals)))
		if bad := checkValues(t, bt.Name, bt.DType, got[bt.Name].Raw, ref, mag, 2, true); bad > 0 {
			t.Errorf("%s: %d elements off", bt.Name, bad)
		}
	}
	full := filepath.Join(t.TempDir(), "full")
	copyDir(t, f.base, full, func(string) bool { return true })
	writeFile(t, filepath.Join(full, "README.md"), "another model of the same shapes")
	for _, tc := range []struct{ yaml, part string }{
		{fmt.Sprintf("merge_method: passthrough\nbase_model: %q\nmodels: [{model: %q}]\n", f.base, full), "full model other than base_model"},
		{fmt.Sprintf("merge_method: passthrough\nmodels: [{model: %q}, {model: %q}]\n", f.base, full), "exactly one model"},
	} {
		out := outDir(t)
		_, err := runRecipe(tc.yaml, out)
		wantErr(t, err, merge.ErrRecipe, "passthrough", tc.part)
		checkNoOutput(t, out)
	}
}
