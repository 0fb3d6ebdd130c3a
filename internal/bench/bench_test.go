package bench

import (
	"context"
	"encoding/binary"
	"math"
	"testing"

	"github.com/potluck-hub/potluck/safetensors"
)

// Every method and dtype gives a figure with the fields the JSON promises,
// on one thread and on several.
func TestRunReportsEveryFigure(t *testing.T) {
	o := Options{Elems: 3 << 20, Deltas: 3, DTypes: []string{"bf16", "f32"}, Threads: []int{1, 3}, Repeat: 1}
	seen := map[string]int{}
	err := Run(context.Background(), o, func(r Result) {
		seen[r.Name]++
		if r.Inputs != 3 || r.Elems != o.Elems || r.BytesRead <= 0 || r.GBps <= 0 || r.CeilingGBps <= 0 || r.Ratio <= 0 {
			t.Errorf("incomplete figure: %+v", r)
		}
		size := int64(2)
		if r.DType == "f32" {
			size = 4
		}
		if r.BytesRead != 4*o.Elems*size {
			t.Errorf("%s %s: bytes_read %d, want the base and 3 deltas: %d", r.Name, r.DType, r.BytesRead, 4*o.Elems*size)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range Methods {
		if seen[m.Label] != 4 {
			t.Errorf("%s: %d figures, want 4 (2 dtypes × 2 thread counts)", m.Label, seen[m.Label])
		}
	}
	if seen["ceiling (xor)"] != 4 {
		t.Errorf("%d ceiling figures, want 4", seen["ceiling (xor)"])
	}
	if err := Run(context.Background(), Options{Elems: 1 << 10, Deltas: 1, DTypes: []string{"int8"}}, func(Result) {}); err == nil {
		t.Error("dtype int8: no error")
	}
	if err := Run(context.Background(), Options{Elems: 1 << 10, Deltas: 1, DTypes: []string{"bf16"}, Methods: []string{"nope"}}, func(Result) {}); err == nil {
		t.Error("unknown method: no error")
	}
}

// The merge the benchmark times is the real one: task arithmetic's output
// is base + λ·Σδ, checked against float64 arithmetic rounded once to bf16
// (within one bf16 step, for the float32 rounding along the way).
func TestMeasuredMergeIsRight(t *testing.T) {
	const n = 1 << 12
	s, err := newInputs(safetensors.BF16, n, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.measure(context.Background(), Methods[1], 1, 1, false, 0); err != nil { // task_arithmetic, λ 0.8
		t.Fatal(err)
	}
	val := func(b []byte, i int) float64 {
		return float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16))
	}
	for i := range n {
		want := val(s.raw[0], i) + 0.8*(val(s.raw[1], i)+val(s.raw[2], i))
		got := val(s.out, i)
		if d := math.Abs(got - want); d > math.Abs(want)/128+1e-30 {
			t.Fatalf("element %d: %v, want %v", i, got, want)
		}
	}
}
