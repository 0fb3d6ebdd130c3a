package merge_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/potluck-hub/potluck/merge"
	"github.com/potluck-hub/potluck/safetensors"
)

// The merged bytes of every method, pinned: each recipe's output tensors
// hash to what the engine gave before the fused masked path, the trim
// statistics and mask scheme 2 were added (scheme 2's own, to what it gave
// when it was added), so those changes provably left every existing merge
// (scheme 1 included) bit for bit as it was. The
// inputs are large enough for the kernels' vector loops, several chunks
// and segments, and cuts that fall inside runs of equal magnitudes.
//
//	POTLUCK_GOLDEN_PRINT=1 go test ./merge -run TestGoldenOutputs -v
//
// prints the hashes (to pin a deliberate change).

// goldenCases are the recipes, by name, with the SHA-256 of their output
// tensors' bytes in name order.
type goldenCase struct {
	name, method, params string
	scheme               int // mask_scheme (0: unset)
	want                 string
}

var goldenCases = []goldenCase{
	{"linear", "linear", "", 0, "c470b56206ab3e415b95872a2dbc745972fdc320fd0105a9f51c31cf6ac1d242"},
	{"task_arithmetic", "task_arithmetic", "lambda: 0.8", 0, "19e53260b9ef4274abd01abb4ecd0a1a3defc6627c1538bb599ca66e5a5f9377"},
	{"ties", "ties", "density: 0.3", 0, "e04adc2ae1117eea645d6cf279bff288257ba1da597193aa7334ce3a15a78d7a"},
	{"ties/paper", "ties", "density: 0.5\nconsensus: paper\nlambda: 1.2", 0, "5c21d35b8fb3b787f8bd862c94f296fc797e860548e8089773d13dba3d989e95"},
	{"ties/rescale", "ties", "density: 0.4\nrescale: true", 0, "8470e6661a463dba5bde0c9cb7629bf1234e4c6e9dd379597f859c53a8aa12ed"},
	{"dare_linear", "dare_linear", "density: 0.4", 0, "4ba74bbba8f8030cd2e274628e0ca09d167f5de7d656347c5192f3527ece0368"},
	{"dare_ties", "dare_ties", "density: 0.3", 0, "cf0b900b46350ac5f46116cf254ce07ead13870be63faab75f924b523ce870e5"},
	{"dare_ties/paper", "dare_ties", "density: 0.6\nrescale_mode: paper", 0, "dc655c5c4abf370a2dcd5643e28c5570ba001dd6ef8b094772e266ee3bcd26bd"},
	{"breadcrumbs", "breadcrumbs", "density: 0.8\ngamma: 0.05", 0, "a2d7b041cff44d9174262c3d5198e4381db0425b5e9adec0dbede4f6a401b3cb"},
	{"breadcrumbs_ties", "breadcrumbs_ties", "density: 0.7\ngamma: 0.02", 0, "e3fbc29593f05d55cbc34f3cd0e1321c909d09e6f084c8a6878623aad4d36708"},
	{"della", "della", "density: 0.5\nepsilon: 0.1", 0, "dc855fdb102f5c4f023bfb78decb137c896323eed6a700de785b360369f7ed0c"},
	{"della_linear", "della_linear", "density: 0.5\nepsilon: 0.1\nrescale_mode: paper", 0, "8113da4f960402eea0fca70ae50267482534954c61e3986e246dd1d162c71fc4"},
	{"model_stock", "model_stock", "", 0, "ad95c17310bbda774af01b24d7ed02fb938e6b3f4a372a8479ce3c36ed454da1"},
	{"median", "median", "", 0, "bffb22b262a4d6c82e6d9128df08ef3225a9bd5788b7b3e9b0b61f8dcccb274d"},
	{"trimmed_mean", "trimmed_mean", "beta: 0", 0, "00e6f970ab56c710147b509da5105abc71f7a6f389833382c8d3210dc2832ad3"},
	{"dare_ties/scheme 2", "dare_ties", "density: 0.3", 2, "a9336b7829f0ed49afd67978c4081130bc400eb412e02fbbc378809c3c55ab9b"},
	{"della/scheme 2", "della", "density: 0.5\nepsilon: 0.1", 2, "49ab431988813b581984b5813bae185016da2d942456e37fbeaffc0733e35355"},
}

// goldenSame are goldenCases over deltas in the base's dtypes (scheme 2's
// pinned from the general path).
var goldenSame = []goldenCase{
	{"linear", "linear", "", 0, "dd296cf1789e84bef05ae7743edd4369e4b547b164a200da846f202450eef6ed"},
	{"task_arithmetic", "task_arithmetic", "lambda: 0.8", 0, "e3c77e6884a0e638eab7eb98c19128596cbb89b2c692b601671d595a425ec45c"},
	{"ties", "ties", "density: 0.3", 0, "8d762de2bca957235865994599dfb0ece1707acaffce8b1e5f5a7f7fac898695"},
	{"ties/paper", "ties", "density: 0.5\nconsensus: paper\nlambda: 1.2", 0, "0e4cb168afcaf001eadd86b06c7863bb28eec4970fe084c91f9c93c54cc98413"},
	{"ties/rescale", "ties", "density: 0.4\nrescale: true", 0, "3b4aa4da372ddba2b65f5919ee791ad54865e74807dedc1f834859a29b0904c8"},
	{"dare_linear", "dare_linear", "density: 0.4", 0, "b34dc430635343dd10cec753d141e63815bbc9e4c21c327e7261ef5876959648"},
	{"dare_ties", "dare_ties", "density: 0.3", 0, "6754473b6c49efb8a97200e5854f9f30a55a2b77c11aafce47ae4eb7a32b0889"},
	{"dare_ties/paper", "dare_ties", "density: 0.6\nrescale_mode: paper", 0, "47d783880352b7668442538305ef260990dae879faa2d22aa7b407f5074c17e1"},
	{"breadcrumbs", "breadcrumbs", "density: 0.8\ngamma: 0.05", 0, "907c4ff95f1686452660cd91039ac2f6a86ad831f4f44f3ba799e689315bbb46"},
	{"breadcrumbs_ties", "breadcrumbs_ties", "density: 0.7\ngamma: 0.02", 0, "e0765d63b00de7e79c01a415e1a0b3d51cb32c8296aff1b5e9ad27b0531b3472"},
	{"della", "della", "density: 0.5\nepsilon: 0.1", 0, "9370a21639433ded6358459a94cfe156da0abf3b26c099cd3298c76307740b5d"},
	{"della_linear", "della_linear", "density: 0.5\nepsilon: 0.1\nrescale_mode: paper", 0, "2490aa2825a354d496fd97f64ede648c87ffa72da05e3577a0244ad3f2d0bc5e"},
	{"model_stock", "model_stock", "", 0, "afd6975127af021d5e00fef9177d23e6df535d196cd0f4a4664345caccbc9737"},
	{"median", "median", "", 0, "a240f46d54696db3fc85ccaac5ea1a69a9823c5ce2a2c11e3345f2d2d8fd71cd"},
	{"trimmed_mean", "trimmed_mean", "beta: 0", 0, "f22503e489bfc33c5abb4c2923e08c0219b54b7cd700b80e7d07e07e8ac9b7c0"},
	{"dare_ties/scheme 2", "dare_ties", "density: 0.3", 2, "53b0ea9bae288ed1693109687642eb33fdec0f853925891a9936fb35490c75f8"},
	{"dare_ties/scheme 2/paper", "dare_ties", "density: 0.6\nrescale_mode: paper", 2, "405a0eda9b23905221323c3c7ee66c986c572ed930fb759c1a5bb5859568a307"},
	{"dare_linear/scheme 2", "dare_linear", "density: 0.4\nrescale: false", 2, "d67f252bc45444bb12fedae59d77dd7413f04f9a1fbc9dcb9160ea2ca1075871"},
	{"della/scheme 2", "della", "density: 0.5\nepsilon: 0.1", 2, "04e8982a943b8b735348a60bd71b4714e62c6f4f010276c45a4b0536c4d87285"},
}

// goldenInputs writes the base and four deltas under dir: every float
// dtype, the deltas in the base's dtypes (the fused paths) except delta 1,
// which is float32; delta 3's values come from a few magnitudes, so its
// cuts fall inside runs of ties.
func goldenInputs(t *testing.T, dir string) (base string, deltas []string) {
	return goldenModels(t, dir, true)
}

// goldenModels is goldenInputs, every delta in the base's dtypes unless
// mixed.
func goldenModels(t *testing.T, dir string, mixed bool) (base string, deltas []string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(2024, 11))
	shapes := []struct {
		name  string
		dt    safetensors.DType
		shape []int64
	}{
		{"model.embed_tokens.weight", safetensors.F32, []int64{30, 517}},
		{"model.layers.0.mlp.up_proj.weight", safetensors.BF16, []int64{64, 1000}},
		{"model.layers.1.mlp.up_proj.weight", safetensors.F16, []int64{40, 999}},
		{"model.norm.weight", safetensors.BF16, []int64{333}},
	}
	var bts []tensor
	for _, s := range shapes {
		n := int(s.shape[0])
		if len(s.shape) > 1 {
			n *= int(s.shape[1])
		}
		bts = append(bts, tensor{Name: s.name, DType: s.dt, Shape: s.shape, Vals: randVals(t, rng, n, s.dt, 1, 0)})
	}
	base = filepath.Join(dir, "base")
	writeModel(t, base, map[string][]tensor{"model.safetensors": bts})
	writeFile(t, filepath.Join(base, "config.json"), `{"torch_dtype": "bfloat16", "num_hidden_layers": 2}`)
	baseCID := hashDir(t, base)
	for i := range 4 {
		var ts []tensor
		for _, bt := range bts {
			dt := bt.DType
			if i == 1 && mixed {
				dt = safetensors.F32
			}
			v := randVals(t, rng, len(bt.Vals), dt, 0.01*float64(i+1), 11)
			if i == 3 {
				for e := range v {
					v[e] = roundTo(t, dt, float64(rng.IntN(9)-4)*0.004)
				}
			}
			ts = append(ts, tensor{Name: bt.Name, DType: dt, Shape: bt.Shape, Vals: v})
		}
		d := filepath.Join(dir, fmt.Sprintf("delta%d", i))
		writeDelta(t, d, baseCID, map[string][]tensor{"model.safetensors": ts})
		deltas = append(deltas, d)
	}
	return base, deltas
}

func TestGoldenOutputs(t *testing.T) {
	testGolden(t, goldenCases, true)
}

// TestGoldenSameDTypes pins the outputs over deltas all in the base's
// dtypes: the fused paths' inputs.
func TestGoldenSameDTypes(t *testing.T) {
	testGolden(t, goldenSame, false)
}

func testGolden(t *testing.T, cases []goldenCase, mixed bool) {
	base, deltas := goldenModels(t, t.TempDir(), mixed)
	print := os.Getenv("POTLUCK_GOLDEN_PRINT") != ""
	for _, gc := range cases {
		t.Run(gc.name, func(t *testing.T) {
			y := fmt.Sprintf("merge_method: %s\nbase_model: %q\nseed: 3\n", gc.method, base)
			if gc.scheme != 0 {
				y += fmt.Sprintf("mask_scheme: %d\n", gc.scheme)
			}
			if gc.params != "" {
				y += "parameters:\n"
				for _, l := range splitLines(gc.params) {
					y += "  " + l + "\n"
				}
			}
			y += "models:\n"
			for _, d := range deltas {
				y += fmt.Sprintf("  - model: %q\n", d)
			}
			var sums []string
			for _, cfg := range []struct{ workers, chunk int }{{1, 0}, {3, 1024}} {
				out := outDir(t)
				runJob(t, y, out, cfg.workers, cfg.chunk, 0)
				sums = append(sums, tensorsDigest(t, out))
			}
			if sums[0] != sums[1] {
				t.Fatalf("workers 1 and 3 (chunk 1024) differ: %s, %s", sums[0], sums[1])
			}
			if print {
				fmt.Printf("\t{%q, %q, %q, %d, %q},\n", gc.name, gc.method, gc.params, gc.scheme, sums[0])
				return
			}
			if sums[0] != gc.want {
				t.Errorf("output tensors hash to %s, want %s", sums[0], gc.want)
			}
		})
	}
}

// tensorsDigest hashes every tensor's bytes of the model in dir, in name
// order.
func tensorsDigest(t *testing.T, dir string) string {
	t.Helper()
	ts := readTensors(t, dir)
	names := make([]string, 0, len(ts))
	for n := range ts {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		h.Write([]byte(n))
		h.Write(ts[n].Raw)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := range len(s) {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// TestGoldenFusedMasked checks that the fused masked path is what merged
// the masked methods of TestGoldenSameDTypes: each runs MergeMasked.
func TestGoldenFusedMasked(t *testing.T) {
	base, deltas := goldenModels(t, t.TempDir(), false)
	for _, mr := range []struct{ method, params string }{
		{"ties", "density: 0.3"}, {"breadcrumbs", "density: 0.8\ngamma: 0.05"}, {"dare_linear", "density: 0.4"},
		{"dare_ties", "density: 0.6\nrescale_mode: paper"}, {"ties", "density: 0.5\nconsensus: paper"},
	} {
		before := merge.MaskedRanges()
		runJob(t, recipeYAML(mr.method, mr.params, base, deltas), outDir(t), 1, 0, 0)
		if merge.MaskedRanges() == before {
			t.Errorf("%s %q: the fused masked path merged nothing", mr.method, mr.params)
		}
	}
}

// TestGoldenSpeculation: with segments, cuts inside runs of ties start
// segments from guesses; some are wrong and merged again, and the bytes
// are still those of one pass. Every segment starts from its guess, so
// the test does not depend on the order the workers finish in.
func TestGoldenSpeculation(t *testing.T) {
	defer merge.AlwaysGuess()()
	base, deltas := goldenModels(t, t.TempDir(), false)
	before := merge.SegmentsRedone()
	for _, mr := range []struct{ method, params string }{{"ties", "density: 0.3"}, {"breadcrumbs", "density: 0.8\ngamma: 0.05"}} {
		want := ""
		for _, cfg := range []struct{ workers, chunk int }{{1, 0}, {2, 64}, {4, 128}} {
			out := outDir(t)
			runJob(t, recipeYAML(mr.method, mr.params, base, deltas), out, cfg.workers, cfg.chunk, 0)
			got := tensorsDigest(t, out)
			if want == "" {
				want = got
			} else if got != want {
				t.Errorf("%s: workers %d chunk %d: the output differs", mr.method, cfg.workers, cfg.chunk)
			}
		}
	}
	if merge.SegmentsRedone() == before {
		t.Error("no segment was merged again: the speculation went untested")
	}
}

// TestGoldenSpeculationGeneral is TestGoldenSpeculation through the
// general path: its masks count the elements on their keys themselves.
func TestGoldenSpeculationGeneral(t *testing.T) {
	defer merge.DisableFused()()
	TestGoldenSpeculation(t)
}
