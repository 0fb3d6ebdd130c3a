// Package mlp is a small multilayer perceptron, a classifier with one hidden
// layer, written out in plain Go so that the study-group demo trains a real
// model with no dependency and the same bits on every run.
//
// The network computes logits = fc2(relu(fc1(x))) and is trained by
// minibatch SGD (with optional momentum) on the mean softmax cross-entropy.
// Every sum runs in one fixed order on one goroutine, so a seed and a
// sequence of batches give the same weights, bit for bit, on every run on a
// given platform. It is generic in its float type: the demo uses float32,
// and the tests check the same backward pass in float64 against finite
// differences.
//
// Checkpoints are Hugging Face-like directories: model.safetensors holding
// fc1.weight [hidden, inputs], fc1.bias [hidden], fc2.weight [classes,
// hidden] and fc2.bias [classes] as F32, beside a config.json; see Save.
package mlp

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// A Float is the element type of a network.
type Float interface{ ~float32 | ~float64 }

// Config gives a network's layer sizes.
type Config struct {
	Inputs  int // features per example (784 for MNIST)
	Hidden  int // units in the hidden layer
	Classes int // outputs, one logit per class
}

// Params returns the number of weights and biases of a network of size c.
func (c Config) Params() int { return c.Hidden*(c.Inputs+1) + c.Classes*(c.Hidden+1) }

// Net is a network's parameters, row-major as PyTorch's nn.Linear holds them.
type Net[F Float] struct {
	Config Config
	W1     []F // fc1.weight, [Hidden][Inputs]
	B1     []F // fc1.bias, [Hidden]
	W2     []F // fc2.weight, [Classes][Hidden]
	B2     []F // fc2.bias, [Classes]
}

// A Tensor is one named parameter of a network; Data shares its memory.
type Tensor[F Float] struct {
	Name  string
	Shape []int
	Data  []F
}

// New returns a network of size c initialised from seed: fc1 He-normal
// (σ = √(2/inputs)), fc2 normal with σ = √(1/hidden), biases zero.
func New[F Float](c Config, seed uint64) *Net[F] {
	if c.Inputs <= 0 || c.Hidden <= 0 || c.Classes <= 1 {
		panic(fmt.Sprintf("mlp: bad config %+v", c))
	}
	n := Zero[F](c)
	rng := rand.New(rand.NewPCG(seed, 0x6d6c70)) // "mlp"
	fill := func(w []F, sigma float64) {
		for i := range w {
			w[i] = F(rng.NormFloat64() * sigma)
		}
	}
	fill(n.W1, math.Sqrt(2/float64(c.Inputs)))
	fill(n.W2, math.Sqrt(1/float64(c.Hidden)))
	return n
}

// Zero returns a network of size c with every parameter zero.
func Zero[F Float](c Config) *Net[F] {
	return &Net[F]{
		Config: c,
		W1:     make([]F, c.Hidden*c.Inputs),
		B1:     make([]F, c.Hidden),
		W2:     make([]F, c.Classes*c.Hidden),
		B2:     make([]F, c.Classes),
	}
}

// Clone returns a deep copy of n.
func (n *Net[F]) Clone() *Net[F] {
	m := Zero[F](n.Config)
	for i, t := range m.Tensors() {
		copy(t.Data, n.Tensors()[i].Data)
	}
	return m
}

// Tensors returns n's parameters under their checkpoint names, in the
// order fc1.weight, fc1.bias, fc2.weight, fc2.bias.
func (n *Net[F]) Tensors() []Tensor[F] {
	c := n.Config
	return []Tensor[F]{
		{"fc1.weight", []int{c.Hidden, c.Inputs}, n.W1},
		{"fc1.bias", []int{c.Hidden}, n.B1},
		{"fc2.weight", []int{c.Classes, c.Hidden}, n.W2},
		{"fc2.bias", []int{c.Classes}, n.B2},
	}
}
