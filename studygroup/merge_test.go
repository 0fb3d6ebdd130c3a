package studygroup

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/potluck-hub/potluck/internal/mlp"
)

// checkpoints writes a base and labs whose fc2.bias (2 classes) is given,
// every other parameter zero, and returns the request.
func checkpoints(t *testing.T, base []float32, labs ...[]float32) MergeRequest {
	t.Helper()
	dir := t.TempDir()
	c := mlp.Config{Inputs: 2, Hidden: 2, Classes: len(base)}
	save := func(name string, b []float32) string {
		n := mlp.Zero[float32](c)
		copy(n.B2, b)
		p := filepath.Join(dir, name)
		if err := mlp.Save(p, n); err != nil {
			t.Fatal(err)
		}
		return p
	}
	req := MergeRequest{Round: 1, Base: save("base", base), Out: filepath.Join(dir, "out")}
	for i, l := range labs {
		req.Labs = append(req.Labs, save(string(rune('a'+i)), l))
	}
	return req
}

func merged(t *testing.T, m MergeFunc, req MergeRequest) []float32 {
	t.Helper()
	dir, err := m(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	n, err := mlp.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return n.B2
}

func TestMergeMethods(t *testing.T) {
	// Deltas per element: lab a +3, −1, +2, 0; lab b +1, −4, −6, 0; lab c
	// +2, +2, +1, 0, over a base of 10.
	base := []float32{10, 10, 10, 10}
	req := checkpoints(t, base, []float32{13, 9, 12, 10}, []float32{11, 6, 4, 10}, []float32{12, 12, 11, 10})
	for _, c := range []struct {
		name string
		m    MergeFunc
		want []float32
	}{
		{"mean", Mean, []float32{12, 9, 9, 10}},
		{"median", Median, []float32{12, 9, 11, 10}},
		// Density 1: no trimming. Element 1: Σδ = −3 elects −, mean of −1
		// and −4; element 2: Σδ = −3 elects −, only −6 agrees.
		{"ties 1", TIES(1), []float32{12, 7.5, 4, 10}},
		// Density 0.5 keeps 2 of 4 per lab: a +3, +2; b −4, −6; c +2, +2
		// (equal magnitudes: the first ones). Element 0: +3, +2 → 12.5;
		// element 1: −4 vs +2 elects −; element 2: +2 −6 elects −.
		{"ties 0.5", TIES(0.5), []float32{12.5, 6, 4, 10}},
	} {
		got := merged(t, c.m, req)
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s: %v, want %v", c.name, got, c.want)
				break
			}
		}
	}
	// Median of an even count: the mean of the middle two.
	req = checkpoints(t, []float32{0, 0}, []float32{1, 0}, []float32{2, 0}, []float32{3, 0}, []float32{100, 0})
	if got := merged(t, Median, req); got[0] != 2.5 {
		t.Errorf("median of 1, 2, 3, 100: %v", got[0])
	}
}

func TestMergeRejects(t *testing.T) {
	req := checkpoints(t, []float32{0, 0}, []float32{1, 1})
	if _, err := TIES(0)(context.Background(), req); err == nil {
		t.Error("TIES density 0: no error")
	}
	other := checkpoints(t, []float32{0, 0, 0})
	req.Labs = append(req.Labs, other.Base)
	if _, err := Mean(context.Background(), req); err == nil {
		t.Error("a lab of another size: no error")
	}
	req.Labs = nil
	if _, err := Mean(context.Background(), req); err == nil {
		t.Error("no lab: no error")
	}
}
