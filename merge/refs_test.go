package merge_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/merge"
	"github.com/potluck-hub/potluck/safetensors"
)

// runWith runs the recipe text with open options.
func runWith(yaml, out string, o merge.OpenOptions) (*potluck.Manifest, error) {
	r, err := merge.ParseRecipe([]byte(yaml))
	if err != nil {
		return nil, err
	}
	job, err := merge.OpenWith(context.Background(), r, o)
	if err != nil {
		return nil, err
	}
	defer job.Close()
	return merge.Run(context.Background(), job, out)
}

// cacheModel puts the model in dir into a Hugging Face hub cache as
// huggingface_hub lays it out: blobs by digest, a snapshot of links to
// them, and refs naming the snapshot's commit.
func cacheModel(t *testing.T, hub, repo, dir string, refs ...string) string {
	t.Helper()
	commit := fmt.Sprintf("%040x", sha256.Sum256([]byte(repo)))[:40]
	root := filepath.Join(hub, "models--"+strings.ReplaceAll(repo, "/", "--"))
	snap := filepath.Join(root, "snapshots", commit)
	for _, d := range []string{filepath.Join(root, "blobs"), filepath.Join(root, "refs"), snap} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		blob := hex.EncodeToString(sum[:])
		writeFile(t, filepath.Join(root, "blobs", blob), string(b))
		if err := os.Symlink(filepath.Join("..", "..", "blobs", blob), filepath.Join(snap, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	for _, ref := range refs {
		writeFile(t, filepath.Join(root, "refs", ref), commit)
	}
	return commit
}

// A recipe names models as mergekit users do, org/name[@revision], found
// in the local Hugging Face cache; their CIDs are those of the files.
func TestHuggingFaceCache(t *testing.T) {
	base := llama(t, "base", 41, tiny(2))
	ft := tuned(t, base, "ft", 42)
	hub := filepath.Join(t.TempDir(), "hub")
	cacheModel(t, hub, "org/base", base, "main")
	commit := cacheModel(t, hub, "org/tuned", ft, "main", "v1")
	for _, models := range [][]string{{"org/tuned"}, {"org/tuned@v1"}, {"org/tuned@" + commit}} {
		out := outDir(t)
		y := fmt.Sprintf("merge_method: task_arithmetic\nbase_model: org/base\nmodels:\n  - model: %s\n", models[0])
		man, err := runWith(y, out, merge.OpenOptions{HFCache: hub})
		if err != nil {
			t.Fatalf("%s: %v", models[0], err)
		}
		if man.Base != hashDir(t, base) || man.Merge.Inputs[0].CID != hashDir(t, ft) {
			t.Errorf("%s: base %s and input %s, want the CIDs of the files: %s and %s", models[0], man.Base, man.Merge.Inputs[0].CID, hashDir(t, base), hashDir(t, ft))
		}
	}
	for _, tc := range []struct{ ref, want string }{
		{"org/missing", "merge: models[0]: model org/missing: no such directory, and not in the Hugging Face cache: HUB/models--org--missing does not exist (download it first, e.g. huggingface-cli download org/missing)"},
		{"org/tuned@v2", `merge: models[0]: model org/tuned@v2: the Hugging Face cache has no revision "v2": HUB/models--org--tuned/refs/v2 does not exist`},
		{"org/tuned@" + strings.Repeat("0", 40), "merge: models[0]: model org/tuned@" + strings.Repeat("0", 40) + ": revision " + strings.Repeat("0", 40) + " is not in the Hugging Face cache: HUB/models--org--tuned/snapshots/" + strings.Repeat("0", 40) + " does not exist"},
	} {
		out := outDir(t)
		_, err := runWith(fmt.Sprintf("merge_method: task_arithmetic\nbase_model: org/base\nmodels:\n  - model: %s\n", tc.ref), out, merge.OpenOptions{HFCache: hub})
		if err == nil || strings.ReplaceAll(err.Error(), hub, "HUB") != tc.want {
			t.Errorf("%s: error\n  %v\nwant\n  %s", tc.ref, err, tc.want)
		}
	}
}

// writeLoRA writes a PEFT adapter of rank 2 (α = 2: scale 1) for the q
// projection of layer 0 of a tiny model, and returns B·A.
func writeLoRA(t *testing.T, dir string) []float64 {
	t.Helper()
	a, b := make([]float64, 2*16), make([]float64, 16*2)
	for i := range a {
		a[i], b[i] = float64(i%7-3)/64, float64(i%5-2)/32
	}
	f32 := safetensors.F32
	writeModel(t, dir, map[string][]tensor{merge.AdapterModel: {
		{Name: "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", DType: f32, Shape: []int64{2, 16}, Vals: a},
		{Name: "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", DType: f32, Shape: []int64{16, 2}, Vals: b},
	}})
	writeFile(t, filepath.Join(dir, merge.AdapterConfig), `{"peft_type": "LORA", "r": 2, "lora_alpha": 2, "target_modules": ["q_proj"]}`)
	ba := make([]float64, 16*16)
	for o := range 16 {
		for i := range 16 {
			ba[o*16+i] = b[o*2]*a[i] + b[o*2+1]*a[16+i]
		}
	}
	return ba
}

// model+adapter is the model with the adapter applied, as mergekit merges
// it before the merge.
func TestModelPlusLoRA(t *testing.T) {
	base := llama(t, "base", 51, tiny(2))
	ft := tuned(t, base, "ft", 52)
	adapter := filepath.Join(t.TempDir(), "adapter")
	ba := writeLoRA(t, adapter)
	out, man := merged(t, fmt.Sprintf("merge_method: linear\nbase_model: %s\nmodels:\n  - model: %s+%s\n", base, ft, adapter))
	got, in := readTensors(t, out), readTensors(t, ft)
	const q = "model.layers.0.self_attn.q_proj.weight"
	fq := floats(t, ft)[q]
	ref, mag := make([]float64, len(fq)), make([]float64, len(fq))
	for i := range fq {
		ref[i], mag[i] = fq[i]+ba[i], math.Abs(fq[i])+math.Abs(ba[i])
	}
	checkValues(t, q, got[q].DType, got[q].Raw, ref, mag, 8, true)
	for name := range in {
		if name != q {
			sameTensor(t, got, name, in, name)
		}
	}
	if want := hashDir(t, ft) + "+" + hashDir(t, adapter); man.Merge.Inputs[0].CID != want {
		t.Errorf("recorded input %s, want %s", man.Merge.Inputs[0].CID, want)
	}
}

// A model only in pickle files is refused, saying why and how to convert.
func TestPickleRefused(t *testing.T) {
	base := llama(t, "base", 61, tiny(2))
	dir := filepath.Join(t.TempDir(), "old")
	writeFile(t, filepath.Join(dir, "config.json"), "{}")
	writeFile(t, filepath.Join(dir, "pytorch_model.bin"), "PK...")
	adapter := filepath.Join(t.TempDir(), "lora")
	writeFile(t, filepath.Join(adapter, merge.AdapterConfig), "{}")
	writeFile(t, filepath.Join(adapter, "adapter_model.bin"), "PK...")
	for _, tc := range []struct{ ref, want string }{
		{dir, "merge: incompatible inputs: models[0]: model DIR has pytorch_model.bin but no .safetensors file: a pickle file can run any code when it is loaded, so potluck does not read one. Convert it to safetensors first, e.g.:\n" +
			`  python -c "from transformers import AutoModelForCausalLM as M; M.from_pretrained('DIR').save_pretrained('DIR-safetensors', safe_serialization=True)"`},
		{adapter, "merge: incompatible inputs: models[0]: model DIR has adapter_model.bin but no .safetensors file: a pickle file can run any code when it is loaded, so potluck does not read one. Convert it to safetensors first, e.g.:\n" +
			`  python -c "import torch; from safetensors.torch import save_file; save_file(torch.load('DIR/adapter_model.bin'), 'DIR/adapter_model.safetensors')"`},
	} {
		out := outDir(t)
		_, err := runRecipe(fmt.Sprintf("merge_method: task_arithmetic\nbase_model: %s\nmodels:\n  - model: %s\n", base, tc.ref), out)
		if err == nil || strings.ReplaceAll(err.Error(), tc.ref, "DIR") != tc.want {
			t.Errorf("error\n  %v\nwant\n  %s", err, tc.want)
		}
	}
}

// Models of other architectures merge only with AllowCrimes.
func TestAllowCrimes(t *testing.T) {
	base := llama(t, "base", 71, tiny(2))
	other := tuned(t, base, "mistral", 72)
	writeFile(t, filepath.Join(other, "config.json"), `{"architectures": ["MistralForCausalLM"], "num_hidden_layers": 2}`)
	y := fmt.Sprintf("merge_method: task_arithmetic\nbase_model: %s\nmodels:\n  - model: %s\n", base, other)
	_, err := runWith(y, outDir(t), merge.OpenOptions{})
	want := fmt.Sprintf("merge: incompatible inputs: models[0] (%s) is a MistralForCausalLM, the base is a LlamaForCausalLM (allow_crimes merges them anyway)", other)
	if err == nil || err.Error() != want {
		t.Errorf("error\n  %v\nwant\n  %s", err, want)
	}
	if _, err := runWith(y, outDir(t), merge.OpenOptions{AllowCrimes: true}); err != nil {
		t.Errorf("with AllowCrimes: %v", err)
	}
}
