package merge_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/potluck-hub/potluck/safetensors"
)

// The test base's tensors: one of each dtype, in two shards.
const (
	embed  = "model.embed_tokens.weight" // BF16 [3 5]
	posIDs = "model.position_ids"        // I64 [2]
	norm   = "model.norm.weight"         // F32 [7]
	head   = "lm_head.bias"              // F16 [4]

	single = "model.safetensors" // a merge's one shard below the default size

	shard1 = "model-00001-of-00002.safetensors"
	shard2 = "model-00002-of-00002.safetensors"
)

// floatNames are the base's float tensors, the ones a merge computes.
var floatNames = []string{embed, norm, head}

// fixture is a base model and three deltas made for it.
type fixture struct {
	base    string
	baseCID string
	tensors map[string]tensor // the base's, by name
	shardOf map[string]string // base tensor → shard file
	others  map[string]string // the base's non-tensor files → content
	deltas  []delta
}

// delta is a delta directory: its CID and its values by tensor name (a
// tensor it lacks is absent).
type delta struct {
	dir  string
	cid  string
	vals map[string][]float64
}

// weights are the recipe weights the tests give the fixture's deltas.
var weights = []float64{1.0, -0.5, 0.25}

// newFixture writes, under a temporary directory:
//
//	base/    two shards and an index, config.json, tokenizer.json, and a
//	         hidden .cache/state that a merge must not copy
//	delta0/  every float tensor, in the base's dtypes, one shard
//	delta1/  every float tensor as F32 (what DiffOptions{DType: F32} makes)
//	delta2/  only the BF16 tensor, and a model.sig the CID leaves out
//
// Values are drawn from a fixed seed: negatives, exact zeros, bf16 base
// values with deltas that land between bf16 values, so rounding matters.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	root := t.TempDir()
	rng := rand.New(rand.NewPCG(7, 11))
	f := &fixture{base: filepath.Join(root, "base"), tensors: map[string]tensor{}, shardOf: map[string]string{}}
	ts := []tensor{
		{Name: embed, DType: safetensors.BF16, Shape: []int64{3, 5}, Vals: randVals(t, rng, 15, safetensors.BF16, 1, 4)},
		{Name: posIDs, DType: safetensors.I64, Shape: []int64{2}, Ints: []int64{1<<40 + 3, -7}},
		{Name: norm, DType: safetensors.F32, Shape: []int64{7}, Vals: randVals(t, rng, 7, safetensors.F32, 1, 3)},
		{Name: head, DType: safetensors.F16, Shape: []int64{4}, Vals: randVals(t, rng, 4, safetensors.F16, 4, 4)},
	}
	for i, td := range ts {
		f.tensors[td.Name] = td
		f.shardOf[td.Name] = []string{shard1, shard2}[i/2]
	}
	writeModel(t, f.base, map[string][]tensor{shard1: ts[:2], shard2: ts[2:]})
	f.others = map[string]string{
		safetensors.IndexName: fmt.Sprintf(`{"metadata":{},"weight_map":{%q:%q,%q:%q,%q:%q,%q:%q}}`+"\n",
			embed, shard1, posIDs, shard1, norm, shard2, head, shard2),
		"config.json":    `{"model_type": "potluck-test", "torch_dtype": "bfloat16"}` + "\n",
		"tokenizer.json": `{"version": "1.0", "model": {"type": "WordLevel"}}` + "\n",
	}
	for p, c := range f.others {
		writeFile(t, filepath.Join(f.base, p), c)
	}
	writeFile(t, filepath.Join(f.base, ".cache", "state"), "hidden; not part of the model\n")
	f.baseCID = hashDir(t, f.base)

	bf, f32, f16 := safetensors.BF16, safetensors.F32, safetensors.F16
	f.addDelta(t, filepath.Join(root, "delta0"), "model.safetensors", []tensor{
		{Name: embed, DType: bf, Shape: []int64{3, 5}, Vals: randVals(t, rng, 15, bf, 0.1, 5)},
		{Name: norm, DType: f32, Shape: []int64{7}, Vals: randVals(t, rng, 7, f32, 0.1, 0)},
		{Name: head, DType: f16, Shape: []int64{4}, Vals: randVals(t, rng, 4, f16, 0.1, 3)},
	})
	f.addDelta(t, filepath.Join(root, "delta1"), "delta.safetensors", []tensor{
		{Name: head, DType: f32, Shape: []int64{4}, Vals: randVals(t, rng, 4, f32, 0.1, 0)},
		{Name: embed, DType: f32, Shape: []int64{3, 5}, Vals: randVals(t, rng, 15, f32, 0.1, 6)},
		{Name: norm, DType: f32, Shape: []int64{7}, Vals: randVals(t, rng, 7, f32, 0.1, 0)},
	})
	d2 := filepath.Join(root, "delta2")
	f.addDelta(t, d2, "model.safetensors", []tensor{
		{Name: embed, DType: bf, Shape: []int64{3, 5}, Vals: randVals(t, rng, 15, bf, 0.2, 0)},
	})
	writeFile(t, filepath.Join(d2, "model.sig"), `{"mediaType": "signature written after the CID"}`)
	writeFile(t, filepath.Join(d2, ".notes"), "hidden")
	f.deltas[2].cid = cidWithoutSig(t, d2)
	return f
}

func (f *fixture) addDelta(t testing.TB, dir, shard string, ts []tensor) {
	t.Helper()
	writeDelta(t, dir, f.baseCID, map[string][]tensor{shard: ts})
	d := delta{dir: dir, cid: hashDir(t, dir), vals: map[string][]float64{}}
	for _, td := range ts {
		d.vals[td.Name] = td.Vals
	}
	f.deltas = append(f.deltas, d)
}

func (f *fixture) dirs() []string {
	var out []string
	for _, d := range f.deltas {
		out = append(out, d.dir)
	}
	return out
}

func (f *fixture) cids() []string {
	var out []string
	for _, d := range f.deltas {
		out = append(out, d.cid)
	}
	return out
}

// deltaVals returns every delta's values of one tensor, nil where a delta
// lacks it.
func (f *fixture) deltaVals(name string) [][]float64 {
	out := make([][]float64, len(f.deltas))
	for i, d := range f.deltas {
		out[i] = d.vals[name]
	}
	return out
}

// outDir returns a path for an output in a fresh parent directory.
func outDir(t testing.TB) string {
	return filepath.Join(t.TempDir(), "merged")
}

// checkNoOutput checks that a failed run left neither out nor a partial
// directory beside it.
func checkNoOutput(t testing.TB, out string) {
	t.Helper()
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("output %s exists after a failed merge (stat: %v)", out, err)
	}
	left, err := filepath.Glob(filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".partial-*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("partial output left behind: %v", left)
	}
}
