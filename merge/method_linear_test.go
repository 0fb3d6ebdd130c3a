package merge_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// linear without base_model, as mergekit allows: the soup of the listed
// models, laid out like the first, whose other files the output takes;
// the same bytes as naming the first model base_model.
func TestLinearWithoutBase(t *testing.T) {
	f := newMethodFixture(t, 0, []float64{1})
	rng := rand.New(rand.NewPCG(4, 4))
	dirs := []string{f.base}
	thetas := []map[string][]float64{{}}
	for _, bt := range f.tensors {
		thetas[0][bt.Name] = bt.Vals
	}
	for m := 1; m < 3; m++ {
		dir := filepath.Join(t.TempDir(), fmt.Sprint("full", m))
		var ts []tensor
		vals := map[string][]float64{}
		for _, bt := range f.tensors {
			v := randVals(t, rng, len(bt.Vals), bt.DType, 1, 0)
			ts = append(ts, tensor{Name: bt.Name, DType: bt.DType, Shape: bt.Shape, Vals: v})
			vals[bt.Name] = v
		}
		writeModel(t, dir, map[string][]tensor{"model.safetensors": ts})
		writeFile(t, filepath.Join(dir, "config.json"), fmt.Sprintf(`{"model": %d}`, m))
		dirs, thetas = append(dirs, dir), append(thetas, vals)
	}
	w := []float64{0.5, 0.3, -0.2}
	models := ""
	for i, d := range dirs {
		models += fmt.Sprintf("  - model: %q\n    parameters: {weight: %v}\n", d, w[i])
	}
	y := "merge_method: linear\nmodels:\n" + models
	out := outDir(t)
	runJob(t, y, out, 1, 0, 0)
	got := readTensors(t, out)
	for _, bt := range f.tensors {
		ref, mag := make([]float64, len(bt.Vals)), make([]float64, len(bt.Vals))
		for e := range ref {
			for i, th := range thetas {
				ref[e] += w[i] / 0.6 * th[bt.Name][e]
				mag[e] += math.Abs(w[i]/0.6) * (math.Abs(th[bt.Name][e]) + 2*math.Abs(thetas[0][bt.Name][e]))
			}
		}
		checkTensor(t, got, bt.Name, bt.DType, bt.Shape, single)
		if bad := checkValues(t, bt.Name, bt.DType, got[bt.Name].Raw, ref, mag, 4*3+12, true); bad > 0 {
			t.Errorf("%s: %d of %d elements off", bt.Name, bad, len(ref))
		}
	}
	if b, err := os.ReadFile(filepath.Join(out, "config.json")); err != nil || string(b) != `{"torch_dtype": "bfloat16", "num_hidden_layers": 2}` {
		t.Errorf("config.json is not the first model's: %q, %v", b, err)
	}
	named := outDir(t)
	runJob(t, fmt.Sprintf("merge_method: linear\nbase_model: %q\nmodels:\n", f.base)+models, named, 4, 64, 0)
	for name, tb := range readTensors(t, named) {
		if string(tb.Raw) != string(got[name].Raw) {
			t.Errorf("%s: no base_model and the first model named base_model differ", name)
		}
	}
}
