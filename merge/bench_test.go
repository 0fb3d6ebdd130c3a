package merge_test

// The merge benchmark: peak resident memory and input throughput of every
// method on 4 deltas of a model whose tensors are 64 MiB each.
//
//	POTLUCK_BENCH=1 go test ./merge -run TestBenchReport -v -timeout 30m
//
// POTLUCK_BENCH_TENSORS=16 makes each model 1 GiB (the 4 × 1 GiB
// deltas); POTLUCK_BENCH_METHODS=task_arithmetic,ties picks recipes.
//
// Each method runs in a child process (this test binary, re-executed), so
// its peak RSS (getrusage's ru_maxrss) is its own. GB/s is the bytes of the
// base and the deltas, read at least once, over the child's wall time.
// POTLUCK_BENCH_DIR keeps the generated model between runs; POTLUCK_BENCH_WORKERS
// sets --workers (default 2); POTLUCK_BENCH_RUNS runs each recipe that many
// times in a row (default 1). The children share one hash cache (under
// POTLUCK_BENCH_DIR, or the test's directory), so every run after the
// first hashes no input: what a repeated local merge does.

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/merge"
	"github.com/potluck-hub/potluck/safetensors"
	"github.com/potluck-hub/potluck/store"
)

const (
	benchRows, benchCols = 4096, 8192 // BF16: 64 MiB per tensor
	benchDeltas          = 4
)

// benchTensors is the tensors per model: 2, or POTLUCK_BENCH_TENSORS (16
// makes each model 1 GiB).
var benchTensors = func() int {
	if n, err := strconv.Atoi(os.Getenv("POTLUCK_BENCH_TENSORS")); err == nil && n > 0 {
		return n
	}
	return 2
}()

// benchRecipes are the recipes measured, by label.
var benchRecipes = []struct{ label, method, params string }{
	{"linear", "linear", ""},
	{"task_arithmetic", "task_arithmetic", "lambda: 0.8"},
	{"task_arithmetic+clip", "task_arithmetic", "clip: 10"},
	{"ties", "ties", "density: 0.3"},
	{"dare_linear", "dare_linear", "density: 0.3"},
	{"dare_ties", "dare_ties", "density: 0.3"},
	{"breadcrumbs", "breadcrumbs", "density: 0.8\ngamma: 0.01"},
	{"breadcrumbs_ties", "breadcrumbs_ties", "density: 0.8\ngamma: 0.01"},
	{"della", "della", "density: 0.5\nepsilon: 0.1"},
	{"della_linear", "della_linear", "density: 0.5\nepsilon: 0.1"},
	{"model_stock", "model_stock", ""},
	{"slerp (1 delta)", "slerp", "t: 0.5"},
	{"fedavg", "fedavg", ""},
	{"median", "median", ""},
	{"trimmed_mean", "trimmed_mean", "beta: 0.25"},
	{"krum", "krum", "m: 2"},
}

func TestBenchReport(t *testing.T) {
	if os.Getenv("POTLUCK_BENCH") == "" {
		t.Skip("set POTLUCK_BENCH=1 to run the merge benchmark")
	}
	dir := os.Getenv("POTLUCK_BENCH_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	input := writeBenchModel(t, dir)
	fmt.Printf("%d deltas of a model of %d × %d MiB BF16 tensors; input %.2f GiB per run, workers %s\n",
		benchDeltas, benchTensors, benchRows*benchCols*2>>20, float64(input)/(1<<30), benchWorkers())
	fmt.Printf("%-22s %10s %12s %8s\n", "method", "wall s", "peak RSS MiB", "GB/s")
	only := os.Getenv("POTLUCK_BENCH_METHODS") // comma-separated labels; empty: all
	runs, _ := strconv.Atoi(os.Getenv("POTLUCK_BENCH_RUNS"))
	cache := filepath.Join(dir, "hashcache")
	for i, br := range benchRecipes {
		if only != "" && !slices.Contains(strings.Split(only, ","), br.label) {
			continue
		}
		for run := range max(runs, 1) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestBenchChild$")
			cmd.Env = append(os.Environ(), "POTLUCK_BENCH_CHILD="+strconv.Itoa(i), "POTLUCK_BENCH_DIR="+dir, benchCacheEnv+"="+cache)
			start := time.Now()
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", br.label, err, b)
			}
			wall := time.Since(start).Seconds()
			rss := float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) / 1024 // KiB on Linux
			in := input
			if br.method == "slerp" {
				in = input / (benchDeltas + 1) * 2
			}
			label := br.label
			if runs > 1 {
				label = fmt.Sprintf("%s #%d", br.label, run+1)
			}
			fmt.Printf("%-22s %10.2f %12.0f %8.2f\n", label, wall, rss, float64(in)/wall/1e9)
		}
	}
}

// benchCacheEnv names the hash cache TestBenchReport's children share
// (TestMain gives every other test binary a fresh one).
const benchCacheEnv = "POTLUCK_BENCH_CACHE"

func benchWorkers() string {
	if w := os.Getenv("POTLUCK_BENCH_WORKERS"); w != "" {
		return w
	}
	return "2"
}

// TestBenchChild runs one benchmark recipe (in the child process).
func TestBenchChild(t *testing.T) {
	i, err := strconv.Atoi(os.Getenv("POTLUCK_BENCH_CHILD"))
	if err != nil {
		t.Skip("run by TestBenchReport")
	}
	dir := os.Getenv("POTLUCK_BENCH_DIR")
	br := benchRecipes[i]
	y := fmt.Sprintf("merge_method: %s\nbase_model: %q\nseed: 1\n", br.method, filepath.Join(dir, "base"))
	if strings.HasPrefix(br.method, "dare") || strings.HasPrefix(br.method, "della") {
		y += "mask_scheme: 2\n" // what potluck merge records for a new merge
	}
	if br.params != "" {
		y += "parameters:\n  " + strings.ReplaceAll(br.params, "\n", "\n  ") + "\n"
	}
	y += "models:\n"
	for d := range benchDeltas {
		if br.method == "slerp" && d > 0 {
			break
		}
		y += fmt.Sprintf("  - model: %q\n", filepath.Join(dir, fmt.Sprintf("delta%d", d)))
		if br.method == "fedavg" {
			y += fmt.Sprintf("    parameters: {samples: %d}\n", 1000*(d+1))
		}
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
	job.Workers, _ = strconv.Atoi(benchWorkers())
	out := filepath.Join(dir, "out-"+strconv.Itoa(i))
	defer os.RemoveAll(out)
	if _, err := merge.Run(context.Background(), job, out); err != nil {
		t.Fatal(err)
	}
}

// writeBenchModel writes the base and the deltas under dir (unless they are
// there) and returns the bytes of all of them.
func writeBenchModel(t *testing.T, dir string) int64 {
	t.Helper()
	base := filepath.Join(dir, "base")
	if _, err := os.Stat(base); err != nil {
		writeBenchShard(t, base, 1, 1.0)
		writeFile(t, filepath.Join(base, "config.json"), `{"torch_dtype": "bfloat16"}`)
	}
	c, err := store.HashDir(base)
	if err != nil {
		t.Fatal(err)
	}
	for d := range benchDeltas {
		p := filepath.Join(dir, fmt.Sprintf("delta%d", d))
		if _, err := os.Stat(p); err == nil {
			continue
		}
		tensors := writeBenchShard(t, p, uint64(d+2), 0.01)
		entries, err := store.WalkDir(p, store.HashFileAt)
		if err != nil {
			t.Fatal(err)
		}
		man := &potluck.Manifest{Schema: potluck.ManifestSchema, Kind: potluck.KindDelta, Base: c.String(),
			Files: merge.DescribeEntries(entries), Tensors: tensors}
		if err := man.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	return int64(benchDeltas+1) * int64(benchTensors) * benchRows * benchCols * 2
}

// writeBenchShard writes model.safetensors of benchTensors BF16 tensors,
// values uniform in ±scale from an xorshift stream, a row at a time.
func writeBenchShard(t *testing.T, dir string, seed uint64, scale float32) []potluck.Tensor {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var specs []safetensors.TensorSpec
	for k := range benchTensors {
		specs = append(specs, safetensors.TensorSpec{Name: fmt.Sprintf("model.layers.%d.mlp.up_proj.weight", k), DType: safetensors.BF16, Shape: []int64{benchRows, benchCols}})
	}
	f, err := os.Create(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := safetensors.NewWriter(f, specs, map[string]string{"format": "pt"})
	if err != nil {
		t.Fatal(err)
	}
	x := seed*0x9E3779B97F4A7C15 | 1
	row := make([]float32, benchCols)
	raw := make([]byte, 2*benchCols)
	var out []potluck.Tensor
	for _, info := range w.Tensors() {
		h := sha256.New()
		for range benchRows {
			for i := range row {
				x ^= x << 13
				x ^= x >> 7
				x ^= x << 17
				row[i] = scale * (float32(x>>40)/(1<<24)*2 - 1)
			}
			for i, v := range row {
				binary.LittleEndian.PutUint16(raw[2*i:], safetensors.F32ToBF16(v))
			}
			h.Write(raw)
			if _, err := w.Write(raw); err != nil {
				t.Fatal(err)
			}
		}
		var sum [32]byte
		copy(sum[:], h.Sum(nil))
		out = append(out, potluck.Tensor{Name: info.Name, DType: string(info.DType), Shape: info.Shape, File: "model.safetensors",
			Offset: info.Start, Length: info.Size(), SHA256: potluck.HexDigest(sum), Encoding: "dense"})
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}
