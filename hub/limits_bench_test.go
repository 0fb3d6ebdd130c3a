package hub_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/internal/testmodel"
	"github.com/potluck-hub/potluck/safetensors"
)

// BenchmarkAdmitHeaderMemory registers bases whose first shard's header
// is padded (its __metadata__) to 1 and to 15 MiB, under the default
// Limits.HeaderBytes of 16 MiB, and reports the bytes allocated per
// registration (hub and node together, in one process): what a header at
// the limit costs, the bound a member can make admission take.
func BenchmarkAdmitHeaderMemory(b *testing.B) {
	for _, mib := range []int{1, 15} {
		b.Run(fmt.Sprintf("%dMiB", mib), func(b *testing.B) {
			bh := newBenchHub(b)
			base := filepath.Join(bh.dir, "base")
			if err := testmodel.WriteBase(base, 1, testmodel.Small); err != nil {
				b.Fatal(err)
			}
			dirs := make([]string, b.N)
			for i := range dirs {
				dirs[i] = filepath.Join(bh.dir, fmt.Sprintf("base-%d", i))
				copyTree(b, base, dirs[i])
				padHeader(b, filepath.Join(dirs[i], "model-00001-of-00002.safetensors"), i, mib<<20)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			bh.upload(b, 1, dirs, potluck.KindBase, "")
			b.StopTimer()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/(1<<20), "MiB-alloc/op")
		})
	}
}

// copyTree copies the regular files of src to dst.
func copyTree(tb testing.TB, src, dst string) {
	tb.Helper()
	ents, err := os.ReadDir(src)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		tb.Fatal(err)
	}
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err == nil {
			err = os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644)
		}
		if err != nil {
			tb.Fatal(err)
		}
	}
}

// padHeader rewrites a shard with __metadata__ of about n bytes (naming
// seed, so each is a new base).
func padHeader(tb testing.TB, path string, seed, n int) {
	tb.Helper()
	f, err := safetensors.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	var specs []safetensors.TensorSpec
	var data [][]byte
	for _, ti := range f.Tensors {
		d, err := f.ReadTensor(ti.Name, nil)
		if err != nil {
			tb.Fatal(err)
		}
		specs = append(specs, safetensors.TensorSpec{Name: ti.Name, DType: ti.DType, Shape: ti.Shape})
		data = append(data, bytes.Clone(d))
	}
	f.Close()
	meta := map[string]string{"seed": fmt.Sprint(seed), "padding": strings.Repeat("x", n)}
	var buf bytes.Buffer
	w, err := safetensors.NewWriter(&buf, specs, meta)
	if err != nil {
		tb.Fatal(err)
	}
	for _, d := range data {
		if _, err := w.Write(d); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
}
