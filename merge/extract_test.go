package merge_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/potluck-hub/potluck/merge"
	"github.com/potluck-hub/potluck/safetensors"
)

// extract runs ExtractLoRA over two model directories.
func extract(t *testing.T, base, ft string, rank int) (string, []merge.ExtractedModule) {
	t.Helper()
	b, err := merge.OpenDir(base)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	f, err := merge.OpenDir(ft)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := filepath.Join(t.TempDir(), "adapter")
	mods, err := merge.ExtractLoRA(b, f, dir, merge.ExtractOptions{Rank: rank, Seed: 1, BaseName: "the-base"})
	if err != nil {
		t.Fatal(err)
	}
	return dir, mods
}

// A delta that is of low rank comes back exactly (to float32 rounding):
// extracted, then merged at weight 1 over the base.
func TestExtractLoRALowRank(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	f32 := safetensors.F32
	q, up := "model.layers.0.self_attn.q_proj.weight", "model.layers.0.mlp.up_proj.weight"
	base := []tensor{
		{Name: "model.embed_tokens.weight", DType: f32, Shape: []int64{8, 16}, Vals: randVals(t, rng, 128, f32, 0.1, 0)},
		{Name: q, DType: f32, Shape: []int64{16, 16}, Vals: randVals(t, rng, 256, f32, 0.1, 0)},
		{Name: up, DType: f32, Shape: []int64{32, 16}, Vals: randVals(t, rng, 512, f32, 0.1, 0)},
		{Name: "model.norm.weight", DType: f32, Shape: []int64{16}, Vals: randVals(t, rng, 16, f32, 1, 0)},
	}
	ft := make([]tensor, len(base))
	for k, bt := range base {
		ft[k] = bt
		ft[k].Vals = slices.Clone(bt.Vals)
		if len(bt.Shape) == 2 && k > 0 { // + a delta of rank 2
			m, n := int(bt.Shape[0]), int(bt.Shape[1])
			for range 2 {
				u, v := randVals(t, rng, m, f32, 0.05, 0), randVals(t, rng, n, f32, 0.05, 0)
				for i := range m {
					for j := range n {
						ft[k].Vals[i*n+j] += u[i] * v[j]
					}
				}
			}
		}
		if k == 3 {
			for i := range ft[k].Vals {
				ft[k].Vals[i] += 0.125
			}
		}
		for i, v := range ft[k].Vals {
			ft[k].Vals[i] = float64(float32(v))
		}
	}
	bdir, fdir := filepath.Join(t.TempDir(), "base"), filepath.Join(t.TempDir(), "ft")
	writeModel(t, bdir, map[string][]tensor{"model.safetensors": base})
	writeModel(t, fdir, map[string][]tensor{"model.safetensors": ft})
	adapter, mods := extract(t, bdir, fdir, 4)
	want := []merge.ExtractedModule{{Tensor: q, Rank: 4}, {Tensor: up, Rank: 4}, {Tensor: "model.norm.weight"}}
	if len(mods) != 3 {
		t.Fatalf("modules %+v, want %+v", mods, want)
	}
	for k, m := range mods {
		if m.Tensor != want[k].Tensor || m.Rank != want[k].Rank || m.RelError > 1e-6 {
			t.Errorf("module %+v, want %+v with a relative error below 1e-6", m, want[k])
		}
	}
	var cfg map[string]any
	if err := json.Unmarshal([]byte(readFile(t, adapter, merge.AdapterConfig)), &cfg); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%v %v %v %v %v %v", cfg["r"], cfg["lora_alpha"], cfg["target_modules"], cfg["modules_to_save"], cfg["peft_type"], cfg["base_model_name_or_path"]) != "4 4 [q_proj up_proj] [norm] LORA the-base" {
		t.Errorf("adapter_config.json %v", cfg)
	}
	got := readTensors(t, adapter)
	if a := got["base_model.model.model.layers.0.mlp.up_proj.lora_A.weight"]; !slices.Equal(a.Shape, []int64{4, 16}) {
		t.Errorf("up_proj's lora_A is %v, want [4 16]", a.Shape)
	}
	out, _ := merged(t, fmt.Sprintf("merge_method: task_arithmetic\nbase_model: %s\nmodels:\n  - model: %s\n", bdir, adapter))
	res := readTensors(t, out)
	for _, ftT := range ft {
		g := decode(t, res[ftT.Name].DType, res[ftT.Name].Raw)
		for i, w := range ftT.Vals {
			if math.Abs(g[i]-w) > 1e-6*(1+math.Abs(w)) {
				t.Errorf("%s[%d]: %v after the round trip, the fine-tune has %v", ftT.Name, i, g[i], w)
				break
			}
		}
	}
}

// A delta of full rank comes back within the reconstruction error that
// ExtractLoRA reports, plus the output's own rounding.
func TestExtractLoRAFullRank(t *testing.T) {
	base := llama(t, "base", 91, tiny(2))
	ft := tuned(t, base, "ft", 92)
	adapter, mods := extract(t, base, ft, 4)
	out, _ := merged(t, fmt.Sprintf("merge_method: task_arithmetic\nbase_model: %s\nmodels:\n  - model: %s\n", base, adapter))
	fb, ff, fo, got := floats(t, base), floats(t, ft), floats(t, out), readTensors(t, out)
	for _, m := range mods {
		var errOut, delta, slack float64
		for i, w := range ff[m.Tensor] {
			d := w - fo[m.Tensor][i]
			errOut += d * d
			delta += (w - fb[m.Tensor][i]) * (w - fb[m.Tensor][i])
			u := ulp(t, got[m.Tensor].DType, math.Abs(w))
			slack += u * u
		}
		if m.Rank == 0 {
			if errOut > slack {
				t.Errorf("%s, saved whole, is off by %g after the round trip", m.Tensor, math.Sqrt(errOut))
			}
			continue
		}
		if m.RelError <= 0 || m.RelError >= 1 {
			t.Errorf("%s: relative error %g of a rank-%d factorization of noise", m.Tensor, m.RelError, m.Rank)
		}
		if e, bound := math.Sqrt(errOut), 1.0001*(m.RelError*math.Sqrt(delta)+math.Sqrt(slack)); e > bound {
			t.Errorf("%s: the round trip is off by %g, more than the reconstruction error %g plus rounding", m.Tensor, e, bound)
		}
	}
}
