package merge_test

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/potluck-hub/potluck/safetensors"
)

// BenchmarkRecipeMemory measures what a merge allocates, and the most heap
// it holds, as its recipe names more models (the hub caps a recipe at 64
// by default): a merge's memory grows with the number of inputs (each
// holds its open shards and a chunk buffer), never with their size.
//
//	go test ./merge -run '^$' -bench RecipeMemory -benchtime 3x
func BenchmarkRecipeMemory(b *testing.B) {
	for _, n := range []int{8, 32, 64} {
		b.Run(fmt.Sprintf("models=%d", n), func(b *testing.B) {
			root := b.TempDir()
			rng := rand.New(rand.NewPCG(1, uint64(n)))
			const elems = 1 << 16
			base := filepath.Join(root, "base")
			writeModel(b, base, map[string][]tensor{"model.safetensors": {
				{Name: "w", DType: safetensors.BF16, Shape: []int64{elems}, Vals: randVals(b, rng, elems, safetensors.BF16, 1, 0)}}})
			baseCID := hashDir(b, base)
			r := recipe{Method: "ties", Base: base, Params: "density: 0.5"}
			for i := range n {
				d := filepath.Join(root, fmt.Sprintf("d%d", i))
				writeDelta(b, d, baseCID, map[string][]tensor{"model.safetensors": {
					{Name: "w", DType: safetensors.BF16, Shape: []int64{elems}, Vals: randVals(b, rng, elems, safetensors.BF16, 0.1, 0)}}})
				r.Models = append(r.Models, d)
				r.Weights = append(r.Weights, 1)
			}
			var peak uint64
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() { // sample the heap while merges run
				defer close(done)
				var ms runtime.MemStats
				for {
					select {
					case <-stop:
						return
					default:
					}
					runtime.ReadMemStats(&ms)
					peak = max(peak, ms.HeapInuse)
					runtime.Gosched()
				}
			}()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if _, err := runRecipe(r.yaml(), filepath.Join(root, fmt.Sprintf("out%d", i))); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			close(stop)
			<-done
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}
