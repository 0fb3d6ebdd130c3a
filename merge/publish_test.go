package merge_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/potluck-hub/potluck/merge"
	"github.com/potluck-hub/potluck/safetensors"
)

// writeAdapter writes a LoRA adapter over the method fixture's up_proj of
// layer 0 ([8 16]) and embeddings ([6 5], transposed) with rank r.
func writeAdapter(t *testing.T, dir string, r int, alpha float64, fill func(name string, n int) []float64) (a, b, ea, eb tensor) {
	t.Helper()
	f32 := safetensors.F32
	p := "base_model.model.model."
	a = tensor{Name: p + "layers.0.mlp.up_proj.lora_A.weight", DType: f32, Shape: []int64{int64(r), 16}, Vals: fill("a", r*16)}
	b = tensor{Name: p + "layers.0.mlp.up_proj.lora_B.weight", DType: f32, Shape: []int64{8, int64(r)}, Vals: fill("b", 8*r)}
	ea = tensor{Name: p + "embed_tokens.lora_embedding_A", DType: f32, Shape: []int64{int64(r), 6}, Vals: fill("ea", r*6)}
	eb = tensor{Name: p + "embed_tokens.lora_embedding_B", DType: f32, Shape: []int64{5, int64(r)}, Vals: fill("eb", 5*r)}
	writeModel(t, dir, map[string][]tensor{merge.AdapterModel: {a, b, ea, eb}})
	writeFile(t, filepath.Join(dir, merge.AdapterConfig), fmt.Sprintf(`{"peft_type": "LORA", "r": %d, "lora_alpha": %v}`, r, alpha))
	return a, b, ea, eb
}

// frobenius is ‖s·B·A‖ expanded element by element, in float64.
func frobenius(s float64, a, b tensor) float64 {
	r, in, out := int(a.Shape[0]), int(a.Shape[1]), int(b.Shape[0])
	var sq float64
	for o := range out {
		for i := range in {
			var d float64
			for k := range r {
				d += b.Vals[o*r+k] * a.Vals[k*in+i]
			}
			sq += s * s * d * d
		}
	}
	return math.Sqrt(sq)
}

// AdapterNorms computes ‖s·B·A‖ from the factors alone, as the expanded
// update's norm; CheckAdapter refuses a rank beyond min(in, out) and an
// insane scale; Encoding marks the factors "lora".
func TestAdapterPublishRules(t *testing.T) {
	f := newMethodFixture(t, 0, []float64{1})
	base := openDir(t, f.base)
	rng := rand.New(rand.NewPCG(3, 3))
	random := func(_ string, n int) []float64 { return randVals(t, rng, n, safetensors.F32, 0.5, 0) }

	dir := filepath.Join(t.TempDir(), "adapter")
	const r, alpha = 3, 6.0
	a, b, ea, eb := writeAdapter(t, dir, r, alpha, random)
	ad := openDir(t, dir)
	if err := merge.CheckAdapter(base, ad); err != nil {
		t.Fatal(err)
	}
	norms, err := merge.AdapterNorms(base, ad)
	if err != nil {
		t.Fatal(err)
	}
	for target, want := range map[string]float64{
		"model.layers.0.mlp.up_proj.weight": frobenius(alpha/r, a, b),
		"model.embed_tokens.weight":         frobenius(alpha/r, ea, eb),
	} {
		if got := norms[target]; math.Abs(got-want) > 1e-9*want {
			t.Errorf("norm of the update to %s: %v, expanded %v", target, got, want)
		}
	}
	if len(norms) != 2 {
		t.Errorf("norms of %d tensors: %v", len(norms), norms)
	}
	for _, name := range ad.Names() {
		if got := merge.Encoding(ad, name); got != merge.EncodingLoRA {
			t.Errorf("encoding of %s: %q", name, got)
		}
	}

	for _, tc := range []struct {
		name  string
		rank  int
		alpha float64
		want  string
	}{
		{"rank", 6, 6, "merge: incompatible inputs: adapter " + "%s" + ": model.embed_tokens.weight: rank 6 is more than min(in 6, out 5): a full-rank update, not a low-rank one"},
		{"scale", 2, 4096, "merge: incompatible inputs: adapter %s: model.embed_tokens.weight: scale lora_alpha/r = 2048 (want 0 < |scale| ≤ 1024)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "adapter")
			writeAdapter(t, dir, tc.rank, tc.alpha, random)
			err := merge.CheckAdapter(base, openDir(t, dir))
			if want := fmt.Sprintf(tc.want, dir); err == nil || err.Error() != want {
				t.Errorf("CheckAdapter: %v\nwant %s", err, want)
			}
		})
	}
}

// ZeroDelta: a dense delta of zeros (-0 too) changes nothing, one non-zero
// value changes something; an adapter whose every lora_B is zero (as PEFT
// initialises it) changes nothing.
func TestZeroDelta(t *testing.T) {
	f := newMethodFixture(t, 0, []float64{1})
	base := openDir(t, f.base)
	baseCID := hashDir(t, f.base)
	for _, tc := range []struct {
		name string
		set  func(i int) float64
		want bool
	}{
		{"zeros", func(int) float64 { return 0 }, true},
		{"negative zeros", func(int) float64 { return math.Copysign(0, -1) }, true},
		{"one value", func(i int) float64 {
			if i == 40 {
				return 0.5
			}
			return 0
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ts []tensor
			k := 0
			for _, bt := range f.tensors {
				v := make([]float64, len(bt.Vals))
				for i := range v {
					v[i] = tc.set(k)
					k++
				}
				ts = append(ts, tensor{Name: bt.Name, DType: safetensors.F32, Shape: bt.Shape, Vals: v})
			}
			dir := filepath.Join(t.TempDir(), "delta")
			writeDelta(t, dir, baseCID, map[string][]tensor{"model.safetensors": ts})
			if got, err := merge.ZeroDelta(base, openDir(t, dir)); err != nil || got != tc.want {
				t.Errorf("ZeroDelta: %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	t.Run("adapter with zero B", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(4, 4))
		dir := filepath.Join(t.TempDir(), "adapter")
		writeAdapter(t, dir, 2, 4, func(name string, n int) []float64 {
			if name == "b" || name == "eb" {
				return make([]float64, n)
			}
			return randVals(t, rng, n, safetensors.F32, 0.5, 0)
		})
		if got, err := merge.ZeroDelta(base, openDir(t, dir)); err != nil || !got {
			t.Errorf("ZeroDelta of an untrained adapter: %v, %v", got, err)
		}
	})
}
