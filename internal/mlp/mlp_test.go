package mlp

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestGradient checks the backward pass against central finite differences
// of the loss, in float64, on a tiny network and a batch of three.
func TestGradient(t *testing.T) {
	c := Config{Inputs: 6, Hidden: 5, Classes: 4}
	n := New[float64](c, 1)
	for i := range n.B1 {
		n.B1[i] = 0.1 * float64(i-2) // some units start inactive
	}
	rng := rand.New(rand.NewPCG(2, 2))
	var batch []Sample[float64]
	for i := range 3 {
		x := make([]float64, c.Inputs)
		for j := range x {
			if rng.IntN(4) > 0 { // some zeros, as images have
				x[j] = rng.NormFloat64()
			}
		}
		batch = append(batch, Dense(x, i%c.Classes))
	}
	tr := NewTrainer(n, 0, 0)
	tr.Gradient(batch)
	const eps = 1e-6
	for i, w := range n.Tensors() {
		g := tr.Grad().Tensors()[i]
		for j := range w.Data {
			old := w.Data[j]
			w.Data[j] = old + eps
			up := n.Loss(batch)
			w.Data[j] = old - eps
			down := n.Loss(batch)
			w.Data[j] = old
			want := (up - down) / (2 * eps)
			if diff := math.Abs(g.Data[j] - want); diff > 1e-7*(1+math.Abs(want)) {
				t.Errorf("%s[%d]: backward %.10g, finite difference %.10g", w.Name, j, g.Data[j], want)
			}
		}
	}
}

// toyData returns separable-ish samples: the label is the argmax of the
// first Classes features.
func toyData(c Config, count int, seed uint64) []Sample[float32] {
	rng := rand.New(rand.NewPCG(seed, 1))
	var out []Sample[float32]
	for range count {
		x := make([]float32, c.Inputs)
		for j := range x {
			x[j] = float32(rng.NormFloat64())
		}
		out = append(out, Dense(x, argmax(x[:c.Classes])))
	}
	return out
}

func train(c Config, data []Sample[float32]) *Net[float32] {
	n := New[float32](c, 7)
	tr := NewTrainer(n, 0.1, 0.9)
	for range 20 {
		for i := 0; i+10 <= len(data); i += 10 {
			tr.Step(data[i : i+10])
		}
	}
	return n
}

func TestTrainLearnsAndRepeats(t *testing.T) {
	c := Config{Inputs: 8, Hidden: 16, Classes: 3}
	data := toyData(c, 300, 3)
	before := New[float32](c, 7).Accuracy(data)
	a, b := train(c, data), train(c, data)
	if acc := a.Accuracy(data); acc < 0.9 || acc <= before {
		t.Errorf("accuracy %.3f after training, %.3f before", acc, before)
	}
	for i, w := range a.Tensors() {
		for j, v := range w.Data {
			if math.Float32bits(v) != math.Float32bits(b.Tensors()[i].Data[j]) {
				t.Fatalf("two runs differ at %s[%d]: %g, %g", w.Name, j, v, b.Tensors()[i].Data[j])
			}
		}
	}
}
