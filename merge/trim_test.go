package merge_test

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck/internal/hashcache"
	"github.com/potluck-hub/potluck/merge"
	"github.com/potluck-hub/potluck/merge/trimstats"
	"github.com/potluck-hub/potluck/safetensors"
)

// Trim statistics change nothing but speed: a magnitude method gives the
// same bytes with a delta's potluck.stats as without, and statistics that
// lie about a cut fail the merge, naming the tensor.

// fileStats computes the statistics of every shard of the model in dir,
// streamed through a FileBuilder as a hash would stream them.
func fileStats(t *testing.T, dir string) *trimstats.Stats {
	t.Helper()
	all := trimstats.New()
	shards, _ := filepath.Glob(filepath.Join(dir, "*.safetensors"))
	for _, p := range shards {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		fb := trimstats.NewFileBuilder(int64(len(b)))
		for len(b) > 0 {
			k := min(len(b), 4093)
			if _, err := fb.Write(b[:k]); err != nil {
				t.Fatal(err)
			}
			b = b[k:]
		}
		s, err := fb.Stats()
		if err != nil {
			t.Fatal(err)
		}
		all.Merge(s)
	}
	return all
}

// writeStats writes s as dir's sidecar.
func writeStats(t *testing.T, dir string, s *trimstats.Stats) {
	t.Helper()
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, trimstats.FileName), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// magnitudeRecipes are the recipes whose cuts statistics give: ties and
// breadcrumbs at densities from the extremes to the middle.
var magnitudeRecipes = []struct{ method, params string }{
	{"ties", "density: 0.3"},
	{"ties", "density: 0.001"},
	{"ties", "density: 0.999"},
	{"ties", "density: 0.5\nconsensus: paper"},
	{"breadcrumbs", "density: 0.8\ngamma: 0.05"},
	{"breadcrumbs_ties", "density: 0.6\ngamma: 0.1"},
	{"breadcrumbs", "density: 0.9\ngamma: 0.0001"},
}

func recipeYAML(method, params, base string, deltas []string) string {
	y := fmt.Sprintf("merge_method: %s\nbase_model: %q\nseed: 3\n", method, base)
	if params != "" {
		y += "parameters:\n  " + strings.ReplaceAll(params, "\n", "\n  ") + "\n"
	}
	y += "models:\n"
	for _, d := range deltas {
		y += fmt.Sprintf("  - model: %q\n", d)
	}
	return y
}

func TestStatsGiveTheSameCuts(t *testing.T) {
	dir := t.TempDir()
	base, deltas := goldenInputs(t, dir)
	special := filepath.Join(dir, "special")
	writeSpecialDelta(t, special, base)
	deltas = append(deltas, special)
	var want []string
	t.Setenv(hashcache.EnvDir, "off") // no statistics from the hash cache either
	taken := merge.StatsTaken()
	for _, mr := range magnitudeRecipes {
		for _, workers := range []int{1, 3} {
			out := outDir(t)
			runJob(t, recipeYAML(mr.method, mr.params, base, deltas), out, workers, 1024, 0)
			want = append(want, tensorsDigest(t, out))
		}
	}
	if merge.StatsTaken() != taken {
		t.Fatal("statistics used with no sidecar and no cache")
	}
	for _, d := range deltas {
		writeStats(t, d, fileStats(t, d))
	}
	k := 0
	for _, mr := range magnitudeRecipes {
		for _, workers := range []int{1, 3} {
			out := outDir(t)
			runJob(t, recipeYAML(mr.method, mr.params, base, deltas), out, workers, 1024, 0)
			if got := tensorsDigest(t, out); got != want[k] {
				t.Errorf("%s %q, workers %d: with statistics the output differs", mr.method, mr.params, workers)
			}
			k++
		}
	}
	if merge.StatsTaken() == taken {
		t.Fatal("no cut came from the statistics")
	}
}

// writeSpecialDelta writes a delta of the golden base's shapes whose values
// are the awkward ones: ±0, subnormals, the largest finite values, and
// long runs of one magnitude of both signs.
func writeSpecialDelta(t *testing.T, dir, base string) {
	t.Helper()
	bm, err := merge.OpenDir(base)
	if err != nil {
		t.Fatal(err)
	}
	defer bm.Close()
	bits := func(b uint32) float64 { return float64(math.Float32frombits(b)) }
	specials := map[safetensors.DType][]float64{
		safetensors.BF16: {0, math.Copysign(0, -1), bits(0x10000), -bits(0x10000), bits(0x800000), bits(0x7F7F0000), -bits(0x7F7F0000), 0.5, -0.5},
		safetensors.F16:  {0, math.Copysign(0, -1), math.Ldexp(1, -24), -math.Ldexp(1, -24), math.Ldexp(1, -14), 65504, -65504, 0.5, -0.5},
		safetensors.F32:  {0, math.Copysign(0, -1), bits(1), -bits(1), bits(0x800000), math.MaxFloat32, -math.MaxFloat32, 0.5, -0.5},
	}
	var ts []tensor
	for _, name := range bm.Names() {
		bt, _ := bm.Tensor(name)
		v := make([]float64, bt.NumElements())
		sp := specials[bt.DType]
		for i := range v {
			if i%3 == 0 {
				v[i] = sp[i%len(sp)]
			} else {
				v[i] = sp[7+i%2] // one magnitude, both signs: ties on every cut near it
			}
		}
		ts = append(ts, tensor{Name: name, DType: bt.DType, Shape: bt.Shape, Vals: v})
	}
	writeDelta(t, dir, hashDir(t, base), map[string][]tensor{"model.safetensors": ts})
}

// TestStatsThatLie: statistics whose counts put a cut elsewhere fail the
// merge with ErrStats, naming the delta and the tensor; statistics wrong
// only far from every cut leave the bytes as they are; statistics for
// another dtype or size are not used.
func TestStatsThatLie(t *testing.T) {
	t.Setenv(hashcache.EnvDir, "off") // statistics from delta 0's sidecar only
	dir := t.TempDir()
	base, deltas := goldenInputs(t, dir)
	y := recipeYAML("ties", "density: 0.3", base, deltas)
	out := outDir(t)
	runJob(t, y, out, 1, 0, 0)
	want := tensorsDigest(t, out)

	const name = "model.layers.0.mlp.up_proj.weight" // bfloat16
	lie := func(change func(h *trimstats.Histogram)) {
		s := fileStats(t, deltas[0])
		h, _ := s.Histogram(name)
		change(h)
		s.Add(name, h)
		writeStats(t, deltas[0], s)
	}
	// Move one element from the top bin to the bottom one: every cut
	// moves by one rank.
	lie(func(h *trimstats.Histogram) {
		h.Counts[len(h.Counts)-1]--
		h.Counts[0]++
	})
	for _, workers := range []int{1, 3} {
		for _, noFused := range []bool{false, true} {
			err := runTies(t, y, workers, noFused)
			if !errors.Is(err, merge.ErrStats) || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), deltas[0]) {
				t.Errorf("workers %d, fused %v: lying statistics: %v", workers, !noFused, err)
			}
		}
	}
	// Swap counts between two bins above every cut: the cuts hold.
	lie(func(h *trimstats.Histogram) {
		n := len(h.Counts)
		h.Counts[n-1], h.Counts[n-2] = h.Counts[n-2], h.Counts[n-1]
	})
	out = outDir(t)
	runJob(t, y, out, 3, 1024, 0)
	if got := tensorsDigest(t, out); got != want {
		t.Error("statistics wrong only above the cuts changed the output")
	}
	// Statistics of the wrong size are left unused.
	lie(func(h *trimstats.Histogram) { h.N++; h.Counts[0]++ })
	taken := merge.StatsTaken()
	out = outDir(t)
	runJob(t, y, out, 1, 0, 0)
	if got := tensorsDigest(t, out); got != want {
		t.Error("statistics of another size changed the output")
	}
	if merge.StatsTaken() != taken+3 { // the other three tensors' statistics are right
		t.Errorf("%d histograms taken from statistics, want 3", merge.StatsTaken()-taken)
	}
}

func runTies(t *testing.T, y string, workers int, noFused bool) error {
	t.Helper()
	if noFused {
		defer merge.DisableFused()()
	}
	r, err := merge.ParseRecipe([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	job, err := merge.OpenLocal(r)
	if err != nil {
		t.Fatal(err)
	}
	defer job.Close()
	job.Workers, job.ChunkElems, job.SegmentElems = workers, 1024, 3072
	_, err = merge.Run(t.Context(), job, outDir(t))
	return err
}

// ScanTensorStats gives ScanTensor's digest and the histogram Compute
// takes of the tensor's bytes.
func TestScanTensorStats(t *testing.T) {
	dir := t.TempDir()
	_, deltas := goldenInputs(t, dir)
	m, err := merge.OpenDir(deltas[1])
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	f, err := safetensors.Open(filepath.Join(deltas[1], "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, name := range m.Names() {
		sum, h, err := m.ScanTensorStats(name)
		if err != nil {
			t.Fatal(err)
		}
		want, err := m.ScanTensor(name)
		if err != nil || sum != want {
			t.Fatalf("%s: digest %x, ScanTensor %x (%v)", name, sum, want, err)
		}
		raw, err := f.ReadTensor(name, nil)
		if err != nil {
			t.Fatal(err)
		}
		bt, _ := m.Tensor(name)
		wh, err := trimstats.Compute(bt.DType, raw)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := statsBytes(name, h)
		b, _ := statsBytes(name, wh)
		if a != b {
			t.Fatalf("%s: histogram differs from Compute's", name)
		}
	}
}

func statsBytes(name string, h *trimstats.Histogram) (string, error) {
	s := trimstats.New()
	s.Add(name, h)
	b, err := s.MarshalBinary()
	return string(b), err
}

// TestStatsFromHashCache: a local merge over deltas without a sidecar takes
// their statistics from the hash cache, which took them while hashing.
func TestStatsFromHashCache(t *testing.T) {
	t.Setenv(hashcache.EnvDir, t.TempDir())
	base, deltas := goldenInputs(t, t.TempDir())
	y := recipeYAML("ties", "density: 0.3", base, deltas)
	taken := merge.StatsTaken()
	out := outDir(t)
	runJob(t, y, out, 1, 0, 0)
	if merge.StatsTaken() == taken {
		t.Fatal("no statistics from the hash cache")
	}
	if got := tensorsDigest(t, out); got != goldenCases[2].want {
		t.Fatalf("ties with cached statistics: %s, want %s", got, goldenCases[2].want)
	}
}
