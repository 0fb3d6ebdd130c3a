package merge_test

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/potluck-hub/potluck/merge"
)

// Progress is reported once before the first tensor and once per tensor,
// from every worker, and changes nothing in the output.
func TestProgress(t *testing.T) {
	mc := methodCases[0]
	f := newMethodFixture(t, 4, []float64{1})
	plain, hooked := outDir(t), outDir(t)
	runJob(t, mc.yaml(f), plain, 4, 64, 0)

	r, err := merge.ParseRecipe([]byte(mc.yaml(f)))
	if err != nil {
		t.Fatal(err)
	}
	job, err := merge.OpenLocal(r)
	if err != nil {
		t.Fatal(err)
	}
	defer job.Close()
	var mu sync.Mutex
	seen := map[int]int{}
	totals := map[int]bool{}
	job.Workers, job.ChunkElems = 4, 64
	job.Progress = func(done, total int) {
		mu.Lock()
		defer mu.Unlock()
		seen[done]++
		totals[total] = true
	}
	man, err := merge.Run(context.Background(), job, hooked)
	if err != nil {
		t.Fatal(err)
	}
	n := len(man.Tensors)
	if len(totals) != 1 || !totals[n] {
		t.Errorf("totals reported %v, want only %d", totals, n)
	}
	for d := 0; d <= n; d++ {
		if seen[d] != 1 {
			t.Errorf("done=%d reported %d times, want once", d, seen[d])
		}
	}
	if len(seen) != n+1 {
		t.Errorf("%d distinct reports, want %d", len(seen), n+1)
	}
	a, b := readAll(t, plain), readAll(t, hooked)
	for p := range a {
		if !bytes.Equal(a[p], b[p]) {
			t.Errorf("%s differs with a progress hook", p)
		}
	}
}
