package merge_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck/merge"
	"github.com/potluck-hub/potluck/merge/kernel"
	"github.com/potluck-hub/potluck/safetensors"
)

// methodFixture is a base of four tensors, one per float dtype and shape
// kind (two layers, so gradients have two ends), and n dense deltas: even
// ones stored as F32, odd ones in the base's dtypes; delta 2 lacks the norm.
type methodFixture struct {
	base    string
	tensors []tensor
	deltas  []string
	vals    []map[string][]float64
}

type methodTensor struct {
	name  string
	dt    safetensors.DType
	shape []int64
	pos   float64 // layer position for gradients
}

var methodTensors = []methodTensor{
	{"model.embed_tokens.weight", safetensors.F32, []int64{6, 5}, 0},
	{"model.layers.0.mlp.up_proj.weight", safetensors.BF16, []int64{8, 16}, 0},
	{"model.layers.1.mlp.up_proj.weight", safetensors.F16, []int64{4, 12}, 1},
	{"model.norm.weight", safetensors.BF16, []int64{7}, 0}, // outside the layers: t = 0, as mergekit
}

// sameDTypes makes every delta tensor take its base tensor's dtype (the
// fused path's case); otherwise deltas 0, 2, … are float32.
var sameDTypes bool

func newMethodFixture(t *testing.T, n int, scales []float64) *methodFixture {
	t.Helper()
	root := t.TempDir()
	rng := rand.New(rand.NewPCG(21, uint64(n)))
	f := &methodFixture{base: filepath.Join(root, "base")}
	for _, mt := range methodTensors {
		size := int(mt.shape[0])
		if len(mt.shape) > 1 {
			size *= int(mt.shape[1])
		}
		f.tensors = append(f.tensors, tensor{Name: mt.name, DType: mt.dt, Shape: mt.shape, Vals: randVals(t, rng, size, mt.dt, 1, 9)})
	}
	writeModel(t, f.base, map[string][]tensor{"model.safetensors": f.tensors})
	writeFile(t, filepath.Join(f.base, "config.json"), `{"torch_dtype": "bfloat16", "num_hidden_layers": 2}`)
	baseCID := hashDir(t, f.base)
	for i := range n {
		vals := map[string][]float64{}
		var ts []tensor
		for _, bt := range f.tensors {
			if i == 2 && bt.Name == "model.norm.weight" {
				continue
			}
			dt := bt.DType
			if i%2 == 0 && !sameDTypes {
				dt = safetensors.F32
			}
			v := randVals(t, rng, len(bt.Vals), dt, 0.1*scales[i%len(scales)], 7)
			ts = append(ts, tensor{Name: bt.Name, DType: dt, Shape: bt.Shape, Vals: v})
			vals[bt.Name] = v
		}
		dir := filepath.Join(root, fmt.Sprintf("delta%d", i))
		writeDelta(t, dir, baseCID, map[string][]tensor{"model.safetensors": ts})
		f.deltas, f.vals = append(f.deltas, dir), append(f.vals, vals)
	}
	return f
}

// deltaVals returns every delta's values of a tensor, zeros where absent.
func (f *methodFixture) deltaVals(name string, size int) [][]float64 {
	out := make([][]float64, len(f.deltas))
	for i, v := range f.vals {
		out[i] = v[name]
		if out[i] == nil {
			out[i] = make([]float64, size)
		}
	}
	return out
}

// methodCase is one recipe and how its parameters resolve per tensor.
type methodCase struct {
	method   string
	global   string                       // YAML lines under parameters
	perModel func(i int) string           // a model's parameters, as a flow map
	cfg      func(c *refCfg, pos float64) // fills the resolved parameters
	n        int
	scales   []float64
	scheme   int // mask_scheme (0: unset)
}

// name names the case's subtest.
func (mc methodCase) name() string {
	if mc.scheme != 0 {
		return fmt.Sprintf("%s/mask_scheme %d/%s", mc.method, mc.scheme, mc.global)
	}
	return mc.method + "/" + mc.global
}

func (mc methodCase) yaml(f *methodFixture) string {
	var b strings.Builder
	fmt.Fprintf(&b, "merge_method: %s\nbase_model: %q\nseed: 7\n", mc.method, f.base)
	if mc.scheme != 0 {
		fmt.Fprintf(&b, "mask_scheme: %d\n", mc.scheme)
	}
	if mc.global != "" {
		b.WriteString("parameters:\n")
		for _, l := range strings.Split(mc.global, "\n") {
			fmt.Fprintf(&b, "  %s\n", l)
		}
	}
	b.WriteString("models:\n")
	for i, d := range f.deltas {
		fmt.Fprintf(&b, "  - model: %q\n", d)
		if mc.perModel != nil {
			if p := mc.perModel(i); p != "" {
				fmt.Fprintf(&b, "    parameters: %s\n", p)
			}
		}
	}
	return b.String()
}

var tiesWeights = []float64{1, 0.5, 0.8, 0.3}

func perModel(format string, vals ...[]float64) func(int) string {
	return func(i int) string {
		args := make([]any, len(vals))
		for k, v := range vals {
			args[k] = v[i%len(v)]
		}
		return fmt.Sprintf(format, args...)
	}
}

// fill sets n-long parameter lists from per-model values.
func fill(n int, vals []float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = vals[i%len(vals)]
	}
	return out
}

var methodCases = []methodCase{
	{method: "ties", global: "lambda: 0.9", perModel: perModel("{weight: %v, density: %v}", tiesWeights, []float64{0.5, 0.6, 0.4, 0.7}),
		cfg: func(c *refCfg, _ float64) {
			c.w, c.density, c.lambda, c.normalize = fill(4, tiesWeights), fill(4, []float64{0.5, 0.6, 0.4, 0.7}), 0.9, true
		}},
	{method: "ties", global: "consensus: paper\ndensity: 0.5", perModel: perModel("{weight: %v}", tiesWeights),
		cfg: func(c *refCfg, _ float64) {
			c.w, c.density, c.normalize, c.paperConsensus = fill(4, tiesWeights), fill(4, []float64{0.5}), true, true
		}},
	{method: "dare_linear", global: "density: 0.6", perModel: perModel("{weight: %v}", tiesWeights),
		cfg: func(c *refCfg, _ float64) {
			c.w, c.density, c.rescale = fill(4, tiesWeights), fill(4, []float64{0.6}), true
		}},
	{method: "dare_ties", global: "density: 0.7\nrescale_mode: paper\nnormalize: true", perModel: perModel("{weight: %v}", tiesWeights),
		cfg: func(c *refCfg, _ float64) {
			c.w, c.density, c.rescale, c.paperRescale, c.normalize = fill(4, tiesWeights), fill(4, []float64{0.7}), true, true, true
		}},
	{method: "breadcrumbs", global: "density: 0.7\ngamma: 0.1", perModel: perModel("{weight: %v}", tiesWeights),
		cfg: func(c *refCfg, _ float64) {
			c.w, c.density, c.gamma = fill(4, tiesWeights), fill(4, []float64{0.7}), fill(4, []float64{0.1})
		}},
	// γ·N < 1 for every tensor here: mergekit would zero them all.
	{method: "breadcrumbs_ties", global: "density: 0.8\ngamma: 0.005\nrescale: true", perModel: perModel("{weight: %v}", tiesWeights),
		cfg: func(c *refCfg, _ float64) {
			c.w, c.density, c.gamma, c.rescale = fill(4, tiesWeights), fill(4, []float64{0.8}), fill(4, []float64{0.005}), true
		}},
	{method: "della", global: "density: 0.5\nepsilon: 0.2\nlambda: 1.1", perModel: perModel("{weight: %v}", tiesWeights),
		cfg: func(c *refCfg, _ float64) {
			c.w, c.density, c.eps, c.lambda, c.normalize, c.rescale = fill(4, tiesWeights), fill(4, []float64{0.5}), fill(4, []float64{0.2}), 1.1, true, true
		}},
	{method: "della_linear", global: "rescale_mode: paper", perModel: perModel("{weight: %v, density: %v, epsilon: 0.1}", tiesWeights, []float64{0.4, 0.6}),
		cfg: func(c *refCfg, _ float64) {
			c.w, c.density, c.eps, c.rescale, c.paperRescale = fill(4, tiesWeights), fill(4, []float64{0.4, 0.6}), fill(4, []float64{0.1}), true, true
		}},
	{method: "task_arithmetic", global: "clip: 0.2\nnormalize: true\nweight:\n  - {filter: mlp, value: [1, 2]}\n  - {value: 0.5}",
		cfg: func(c *refCfg, pos float64) {
			w := 0.5
			if strings.Contains(c.name, "mlp") {
				w = 1 + pos
			}
			c.w, c.clip, c.normalize = fill(4, []float64{w}), 0.2, true
		}},
	{method: "fedavg", global: "lambda: 0.8", perModel: perModel("{samples: %v}", []float64{100, 300, 50, 1000}),
		cfg: func(c *refCfg, _ float64) { c.samples, c.lambda = fill(4, []float64{100, 300, 50, 1000}), 0.8 }},
	{method: "median", global: "clip: 0.3",
		cfg: func(c *refCfg, _ float64) { c.clip = 0.3 }},
	{method: "median", n: 3, cfg: func(*refCfg, float64) {}},
	{method: "trimmed_mean", global: "beta: 0.25\nlambda: 0.5",
		cfg: func(c *refCfg, _ float64) { c.beta, c.lambda = 0.25, 0.5 }},
	{method: "model_stock", cfg: func(*refCfg, float64) {}},
	{method: "slerp", n: 1, global: "t: [0.2, 0.8]", scales: []float64{4},
		cfg: func(c *refCfg, pos float64) { c.t = 0.2 + pos*0.6 }},
	{method: "slerp", n: 1, global: "t: 0.3", scales: []float64{0.01},
		cfg: func(c *refCfg, _ float64) { c.t = 0.3 }},
	{method: "krum", n: 5, global: "m: 2", scales: []float64{1, 1, 1, 1, 30},
		cfg: func(c *refCfg, _ float64) { c.lambda = 1 }},
	// Mask scheme 2.
	{method: "dare_linear", global: "density: 0.6", perModel: perModel("{weight: %v}", tiesWeights), scheme: 2,
		cfg: func(c *refCfg, _ float64) {
			c.w, c.density, c.rescale = fill(4, tiesWeights), fill(4, []float64{0.6}), true
		}},
	{method: "dare_ties", global: "density: 0.3\nrescale_mode: paper", perModel: perModel("{weight: %v}", tiesWeights), scheme: 2,
		cfg: func(c *refCfg, _ float64) {
			c.w, c.density, c.rescale, c.paperRescale = fill(4, tiesWeights), fill(4, []float64{0.3}), true, true
		}},
	{method: "della", global: "density: 0.5\nepsilon: 0.2", perModel: perModel("{weight: %v}", tiesWeights), scheme: 2,
		cfg: func(c *refCfg, _ float64) {
			c.w, c.density, c.eps, c.normalize, c.rescale = fill(4, tiesWeights), fill(4, []float64{0.5}), fill(4, []float64{0.2}), true, true
		}},
}

// Every method, against its float64 reference, on every float dtype: the
// tolerance is one rounding step of the output dtype plus the float32
// roundings of the computation (checkValues), counted generously as
// 4n + 12 for n inputs (products, sums, weights, rescaling, clipping).
func TestMethodsMatchReference(t *testing.T) {
	for _, mc := range methodCases {
		t.Run(mc.name(), func(t *testing.T) {
			f := mc.fixture(t)
			n := len(f.deltas)
			out := outDir(t)
			if _, err := runRecipe(mc.yaml(f), out); err != nil {
				t.Fatal(err)
			}
			got := readTensors(t, out)
			keep := refKrum(f, mc, n)
			for k, bt := range f.tensors {
				c := refCfg{method: mc.method, name: bt.Name, cols: int(bt.Shape[len(bt.Shape)-1]), lambda: 1, seed: 7, keep: keep, scheme: mc.scheme,
					w: fill(n, []float64{1}), density: fill(n, []float64{1}), gamma: fill(n, []float64{0.01}), eps: fill(n, []float64{0.15})}
				for i := range n {
					c.models = append(c.models, i)
				}
				mc.cfg(&c, methodTensors[k].pos)
				c.w, c.density, c.gamma, c.eps = fill(n, c.w), fill(n, c.density), fill(n, c.gamma), fill(n, c.eps)
				ref, mag := refMerge(c, bt.Vals, f.deltaVals(bt.Name, len(bt.Vals)))
				checkTensor(t, got, bt.Name, bt.DType, bt.Shape, single)
				if bad := checkValues(t, bt.Name, bt.DType, got[bt.Name].Raw, ref, mag, 4*n+12, true); bad > 0 {
					t.Errorf("%s: %d of %d elements off", bt.Name, bad, len(ref))
				}
			}
		})
	}
}

// refKrum is the reference Krum selection over the whole model.
func refKrum(f *methodFixture, mc methodCase, n int) []bool {
	if mc.method != "krum" {
		return nil
	}
	dist := make([][]float64, n)
	for i := range dist {
		dist[i] = make([]float64, n)
	}
	for _, bt := range f.tensors {
		ds := f.deltaVals(bt.Name, len(bt.Vals))
		for i := range n {
			for k := range n {
				for e := range bt.Vals {
					dist[i][k] += (ds[i][e] - ds[k][e]) * (ds[i][e] - ds[k][e])
				}
			}
		}
	}
	fByz, m := max(0, (n-3)/2), 2
	type scored struct {
		i     int
		score float64
	}
	var sc []scored
	for i := range n {
		var ds []float64
		for k := range n {
			if k != i {
				ds = append(ds, dist[i][k])
			}
		}
		slices.Sort(ds)
		s := 0.0
		for _, d := range ds[:n-fByz-2] {
			s += d
		}
		sc = append(sc, scored{i, s})
	}
	slices.SortStableFunc(sc, func(a, b scored) int { return cmpF(a.score, b.score) })
	keep := make([]bool, n)
	for _, s := range sc[:m] {
		keep[s.i] = true
	}
	if keep[n-1] {
		panic("the reference Krum kept the outlier")
	}
	return keep
}

func cmpF(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// The references tell the variants apart: each method's output breaks the
// bound of a reference with one choice changed, on the F32 tensor.
func TestMethodsDiscriminate(t *testing.T) {
	f := newMethodFixture(t, 4, []float64{1})
	bt := f.tensors[0] // F32
	ds := f.deltaVals(bt.Name, len(bt.Vals))
	for _, tc := range []struct {
		mc    methodCase
		wrong func(c *refCfg)
	}{
		{methodCases[0], func(c *refCfg) { c.density = fill(4, []float64{1}) }}, // ties without trimming
		{methodCases[0], func(c *refCfg) { c.paperConsensus = true }},           // the other consensus
		{methodCases[2], func(c *refCfg) { c.seed = 8 }},                        // another mask
		{methodCases[2], func(c *refCfg) { c.rescale = false }},                 // no rescaling
		{methodCases[3], func(c *refCfg) { c.paperRescale = false }},            // L1 in place of 1/p
		{methodCases[4], func(c *refCfg) { c.gamma = fill(4, []float64{0}) }},   // no outliers dropped
		{methodCases[6], func(c *refCfg) { c.eps = fill(4, []float64{0.01}) }},  // another ε
		{methodCases[8], func(c *refCfg) { c.clip = 0 }},                        // no clipping
	} {
		t.Run(tc.mc.method, func(t *testing.T) {
			out := outDir(t)
			if _, err := runRecipe(tc.mc.yaml(f), out); err != nil {
				t.Fatal(err)
			}
			raw := readTensors(t, out)[bt.Name].Raw
			c := refCfg{method: tc.mc.method, name: bt.Name, cols: 5, lambda: 1, seed: 7, models: []int{0, 1, 2, 3},
				w: fill(4, []float64{1}), density: fill(4, []float64{1}), gamma: fill(4, []float64{0.01}), eps: fill(4, []float64{0.15})}
			tc.mc.cfg(&c, 0)
			right, mag := refMerge(c, bt.Vals, ds)
			if bad := checkValues(t, bt.Name, bt.DType, raw, right, mag, 28, true); bad > 0 {
				t.Fatalf("%d elements off the right reference", bad)
			}
			tc.wrong(&c)
			wrong, _ := refMerge(c, bt.Vals, ds)
			if checkValues(t, bt.Name, bt.DType, raw, wrong, mag, 28, false) == 0 {
				t.Error("the output also matches the altered reference")
			}
		})
	}
}

// runJob runs a recipe with job options set.
func runJob(t *testing.T, yaml, out string, workers, chunk int, shardSize int64) {
	t.Helper()
	r, err := merge.ParseRecipe([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	job, err := merge.OpenLocal(r)
	if err != nil {
		t.Fatal(err)
	}
	defer job.Close()
	job.Workers, job.ChunkElems, job.ShardSize = workers, chunk, shardSize
	if chunk > 0 {
		job.SegmentElems = 3 * chunk // segments too
	}
	if _, err := merge.Run(context.Background(), job, out); err != nil {
		t.Fatal(err)
	}
}

// Every method gives the same bytes for 1 and 4 workers, any chunking and
// any segmenting, and through the fused path and the general one.
func TestMethodsDeterministic(t *testing.T) {
	// A tensor of many chunks and segments beside the fixture's small ones.
	defer func(prev []methodTensor) { methodTensors = prev }(methodTensors)
	methodTensors = append(slices.Clip(methodTensors), methodTensor{"model.layers.1.self_attn.q_proj.weight", safetensors.BF16, []int64{32, 40}, 1})
	for _, same := range []bool{false, true} {
		sameDTypes = same
		for _, mc := range methodCases {
			t.Run(fmt.Sprintf("%s/%s/same-dtypes=%v", mc.method, mc.global, same), func(t *testing.T) {
				methodDeterministic(t, mc)
			})
		}
	}
	sameDTypes = false
}

// fixture is the case's fixture: mc.n deltas (4 when unset) at its scales.
func (mc methodCase) fixture(t *testing.T) *methodFixture {
	n := 4
	if mc.n != 0 {
		n = mc.n
	}
	scales := mc.scales
	if scales == nil {
		scales = []float64{1}
	}
	return newMethodFixture(t, n, scales)
}

// methodDeterministic runs one method case three ways and compares them.
func methodDeterministic(t *testing.T, mc methodCase) {
	f := mc.fixture(t)
	a, b := outDir(t), outDir(t)
	runJob(t, mc.yaml(f), a, 1, 0, 0)
	runJob(t, mc.yaml(f), b, 4, 64, 0)
	compareOutputs(t, a, b, "1 worker and 4 workers with 64-element chunks and 192-element segments")
	c := outDir(t)
	restore := merge.DisableFused()
	runJob(t, mc.yaml(f), c, 1, 0, 0)
	restore()
	compareOutputs(t, a, c, "the fused path and the general path")
	d := outDir(t)
	restore = kernel.ForceGeneric()
	runJob(t, mc.yaml(f), d, 4, 64, 0)
	restore()
	compareOutputs(t, a, d, "the SIMD kernels ("+kernel.Implementation()+") and the generic ones")
}

// compareOutputs requires the same files with the same bytes in a and b.
func compareOutputs(t *testing.T, a, b, what string) {
	t.Helper()
	fa, fb := readAll(t, a), readAll(t, b)
	if !slices.Equal(keys(fa), keys(fb)) {
		t.Fatalf("files differ: %v and %v", keys(fa), keys(fb))
	}
	for p := range fa {
		if !bytes.Equal(fa[p], fb[p]) {
			t.Errorf("%s differs between %s", p, what)
		}
	}
}

// DARE's masks: the same across runs and chunkings, equal to the
// generator's specification, and keeping a density fraction within 3σ.
func TestDAREMask(t *testing.T) {
	const n, density = 1 << 16, 0.3
	root := t.TempDir()
	base := filepath.Join(root, "base")
	name := "model.layers.0.w"
	writeModel(t, base, map[string][]tensor{"model.safetensors": {{Name: name, DType: safetensors.F32, Shape: []int64{n}, Vals: make([]float64, n)}}})
	ones := make([]float64, n)
	for i := range ones {
		ones[i] = 1
	}
	delta := filepath.Join(root, "delta")
	writeDelta(t, delta, hashDir(t, base), map[string][]tensor{"model.safetensors": {{Name: name, DType: safetensors.F32, Shape: []int64{n}, Vals: ones}}})
	yaml := fmt.Sprintf("merge_method: dare_linear\nbase_model: %q\nseed: 42\nparameters: {density: %v, rescale: false}\nmodels: [{model: %q}]\n", base, density, delta)
	var first []byte
	for _, chunk := range []int{0, 64, 4096, 1 << 15} {
		out := outDir(t)
		runJob(t, yaml, out, 2, chunk, 0)
		raw := readTensors(t, out)[name].Raw
		if first == nil {
			first = raw
		} else if !bytes.Equal(raw, first) {
			t.Errorf("chunk %d: the mask differs", chunk)
		}
	}
	kept := 0
	key := tKey(42, 0, name)
	for i, v := range decode(t, safetensors.F32, first) {
		want := 0.0
		if tUniform(key, i) < density {
			want = 1
			kept++
		}
		if v != want {
			t.Fatalf("element %d: %v, the generator says %v", i, v, want)
		}
	}
	sigma := math.Sqrt(n * density * (1 - density))
	if d := math.Abs(float64(kept) - n*density); d > 3*sigma {
		t.Errorf("kept %d of %d, want %v ± %.0f", kept, n, n*density, 3*sigma)
	}
}
