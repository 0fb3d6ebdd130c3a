package merge_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/merge"
	"github.com/potluck-hub/potluck/safetensors"
)

// taRecipe is task_arithmetic over the method fixture's base.
func taRecipe(base string, models []string, weights []float64) string {
	return recipe{Method: "task_arithmetic", Base: base, Models: models, Weights: weights}.yaml()
}

// A PEFT LoRA adapter is a delta: ΔW = (α/r)·B·A, transposed for an
// embedding (lora_embedding_A is [r, vocab], lora_embedding_B [dim, r]).
func TestLoRAAdapter(t *testing.T) {
	f := newMethodFixture(t, 0, []float64{1})
	dir := filepath.Join(t.TempDir(), "adapter")
	rng := rand.New(rand.NewPCG(5, 5))
	f32 := safetensors.F32
	const r, alpha = 2, 3.0
	up := f.tensors[1]  // [8 16], BF16
	emb := f.tensors[0] // [6 5], F32
	a := tensor{Name: "base_model.model.model.layers.0.mlp.up_proj.lora_A.weight", DType: f32, Shape: []int64{r, 16}, Vals: randVals(t, rng, r*16, f32, 0.5, 0)}
	b := tensor{Name: "base_model.model.model.layers.0.mlp.up_proj.lora_B.weight", DType: f32, Shape: []int64{8, r}, Vals: randVals(t, rng, 8*r, f32, 0.5, 0)}
	ea := tensor{Name: "base_model.model.model.embed_tokens.lora_embedding_A", DType: f32, Shape: []int64{r, 6}, Vals: randVals(t, rng, r*6, f32, 0.5, 0)}
	eb := tensor{Name: "base_model.model.model.embed_tokens.lora_embedding_B", DType: f32, Shape: []int64{5, r}, Vals: randVals(t, rng, 5*r, f32, 0.5, 0)}
	writeModel(t, dir, map[string][]tensor{merge.AdapterModel: {a, b, ea, eb}})
	writeFile(t, filepath.Join(dir, merge.AdapterConfig), fmt.Sprintf(`{"peft_type": "LORA", "r": %d, "lora_alpha": %v, "alpha_pattern": {"embed_tokens": 4.0}}`, r, alpha))
	out := outDir(t)
	if _, err := runRecipe(taRecipe(f.base, []string{dir}, []float64{0.5}), out); err != nil {
		t.Fatal(err)
	}
	got := readTensors(t, out)
	check := func(bt tensor, scale float64, delta func(row, col int) (float64, float64), cols int) {
		ref, mag := make([]float64, len(bt.Vals)), make([]float64, len(bt.Vals))
		for e, v := range bt.Vals {
			d, abs := delta(e/cols, e%cols)
			ref[e], mag[e] = v+0.5*scale*d, math.Abs(v)+0.5*scale*abs
		}
		if bad := checkValues(t, bt.Name, bt.DType, got[bt.Name].Raw, ref, mag, 2*r+8, true); bad > 0 {
			t.Errorf("%s: %d elements off", bt.Name, bad)
		}
	}
	check(up, alpha/r, func(o, i int) (float64, float64) { // Σₖ B[o,k]·A[k,i]
		var s, abs float64
		for k := range r {
			s += b.Vals[o*r+k] * a.Vals[k*16+i]
			abs += math.Abs(b.Vals[o*r+k] * a.Vals[k*16+i])
		}
		return s, abs
	}, 16)
	check(emb, 4.0/r, func(v, d int) (float64, float64) { // Σₖ B[d,k]·A[k,v]
		var s, abs float64
		for k := range r {
			s += eb.Vals[d*r+k] * ea.Vals[k*6+v]
			abs += math.Abs(eb.Vals[d*r+k] * ea.Vals[k*6+v])
		}
		return s, abs
	}, 5)
	for _, bt := range f.tensors[2:] { // not adapted: the base's values
		if want := encode(t, bt); string(got[bt.Name].Raw) != string(want) {
			t.Errorf("%s changed; the adapter does not touch it", bt.Name)
		}
	}
}

// A full fine-tuned model is a delta computed on the fly; the base listed
// among the models is a zero delta (kept by linear, left out by the rest).
func TestFullModelAndBaseAsInputs(t *testing.T) {
	f := newMethodFixture(t, 0, []float64{1})
	ft := filepath.Join(t.TempDir(), "finetuned")
	rng := rand.New(rand.NewPCG(8, 8))
	var ts []tensor
	for _, bt := range f.tensors {
		v := slices.Clone(bt.Vals)
		for e, n := range randVals(t, rng, len(v), bt.DType, 0.05, 3) {
			v[e] = roundTo(t, bt.DType, v[e]+n)
		}
		ts = append(ts, tensor{Name: bt.Name, DType: bt.DType, Shape: bt.Shape, Vals: v})
	}
	writeModel(t, ft, map[string][]tensor{"model.safetensors": ts})
	for _, tc := range []struct {
		method string
		models []string
		ref    func(b, x float64) float64
	}{
		{"task_arithmetic", []string{ft, f.base}, func(b, x float64) float64 { return b + 0.5*(x-b) }},
		{"linear", []string{ft, f.base}, func(b, x float64) float64 { return (0.5*x + 0.5*b) / 1.0 }},
	} {
		t.Run(tc.method, func(t *testing.T) {
			out := outDir(t)
			man, err := runRecipe(recipe{Method: tc.method, Base: f.base, Models: tc.models, Weights: []float64{0.5, 0.5}}.yaml(), out)
			if err != nil {
				t.Fatal(err)
			}
			if man.Merge.Inputs[1].CID != hashDir(t, f.base) {
				t.Errorf("the base among the models is recorded as %s", man.Merge.Inputs[1].CID)
			}
			got := readTensors(t, out)
			for k, bt := range f.tensors {
				ref, mag := make([]float64, len(bt.Vals)), make([]float64, len(bt.Vals))
				for e, b := range bt.Vals {
					x := ts[k].Vals[e]
					ref[e], mag[e] = tc.ref(b, x), 2*(math.Abs(b)+math.Abs(x))
				}
				if bad := checkValues(t, bt.Name, bt.DType, got[bt.Name].Raw, ref, mag, 10, true); bad > 0 {
					t.Errorf("%s: %d elements off", bt.Name, bad)
				}
			}
		})
	}
}

// A sparse delta (T#indices, T#values) merges like its dense expansion.
func TestSparseDelta(t *testing.T) {
	f := newMethodFixture(t, 0, []float64{1})
	up := f.tensors[1] // 128 elements
	idx := []int64{0, 3, 17, 64, 127}
	vals := []float64{0.5, -0.25, 0.125, 1, -2}
	dense := make([]float64, len(up.Vals))
	for k, i := range idx {
		dense[i] = vals[k]
	}
	dir := filepath.Join(t.TempDir(), "sparse")
	writeDelta(t, dir, hashDir(t, f.base), map[string][]tensor{"model.safetensors": {
		{Name: up.Name + merge.SparseIndices, DType: safetensors.I64, Shape: []int64{5}, Ints: idx},
		{Name: up.Name + merge.SparseValues, DType: safetensors.F32, Shape: []int64{5}, Vals: vals},
	}})
	out := outDir(t)
	if _, err := runRecipe(taRecipe(f.base, []string{dir}, []float64{2}), out); err != nil {
		t.Fatal(err)
	}
	ref, mag := taskArithmetic(up.Vals, 1, []float64{2}, [][]float64{dense})
	checkValues(t, up.Name, up.DType, readTensors(t, out)[up.Name].Raw, ref, mag, taskOps(1), true)

	t.Run("indices out of order", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad")
		writeDelta(t, bad, hashDir(t, f.base), map[string][]tensor{"model.safetensors": {
			{Name: up.Name + merge.SparseIndices, DType: safetensors.I64, Shape: []int64{3}, Ints: []int64{4, 9, 9}},
			{Name: up.Name + merge.SparseValues, DType: safetensors.F32, Shape: []int64{3}, Vals: []float64{1, 2, 3}},
		}})
		out := outDir(t)
		_, err := runRecipe(taRecipe(f.base, []string{bad}, []float64{1}), out)
		wantErr(t, err, merge.ErrIncompatible, `"`+up.Name+`"`, "entry 2")
		checkNoOutput(t, out)
	})
}

// The output is sharded at ShardSize, in the base's tensor order, with an
// index and config.json's torch_dtype following out_dtype.
func TestShardSize(t *testing.T) {
	f := newMethodFixture(t, 1, []float64{1})
	out := outDir(t)
	// F32 sizes: embed 120, up 512, layer-1 up 192, norm 28 bytes.
	runJob(t, recipe{Method: "task_arithmetic", Base: f.base, Models: f.deltas, OutDtype: "float32"}.yaml(), out, 3, 0, 600)
	files := readAll(t, out)
	want := []string{"model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors"}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(files[safetensors.IndexName], &idx); err != nil {
		t.Fatal(err)
	}
	shardOf := []string{want[0], want[1], want[2], want[2]}
	got := readTensors(t, out)
	for k, bt := range f.tensors {
		if idx.WeightMap[bt.Name] != shardOf[k] || got[bt.Name].File != shardOf[k] {
			t.Errorf("%s in %s (index says %s), want %s", bt.Name, got[bt.Name].File, idx.WeightMap[bt.Name], shardOf[k])
		}
	}
	if c := string(files["config.json"]); c != `{"torch_dtype": "float32", "num_hidden_layers": 2}` {
		t.Errorf("config.json: %s", c)
	}
	if _, err := os.Stat(filepath.Join(out, "model.safetensors")); err == nil {
		t.Error("a sharded output also holds model.safetensors")
	}
}

// fedavg weighs each delta by the sample count its manifest records.
func TestFedAvgFromManifest(t *testing.T) {
	f := newMethodFixture(t, 2, []float64{1})
	for i, n := range []int64{100, 300} {
		man, err := potluck.ReadManifest(f.deltas[i])
		if err != nil {
			t.Fatal(err)
		}
		man.Samples = n
		if err := man.Write(f.deltas[i]); err != nil {
			t.Fatal(err)
		}
	}
	out := outDir(t)
	if _, err := runRecipe(recipe{Method: "fedavg", Base: f.base, Models: f.deltas}.yaml(), out); err != nil {
		t.Fatal(err)
	}
	bt := f.tensors[0]
	ref, mag := taskArithmetic(bt.Vals, 1, []float64{0.25, 0.75}, f.deltaVals(bt.Name, len(bt.Vals)))
	if bad := checkValues(t, bt.Name, bt.DType, readTensors(t, out)[bt.Name].Raw, ref, mag, taskOps(2)+2, true); bad > 0 {
		t.Errorf("%d elements off", bad)
	}
}
