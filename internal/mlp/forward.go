package mlp

import "math"

// A Sample is one labelled example. Its features are sparse: feature
// Index[k] has value Value[k], every other feature is zero. Indices are
// distinct and below the network's Inputs; Dense builds one from a vector.
type Sample[F Float] struct {
	Index []int32
	Value []F
	Label int
}

// Dense returns the sample with features x (its zeros left out) and label.
func Dense[F Float](x []F, label int) Sample[F] {
	s := Sample[F]{Label: label}
	for i, v := range x {
		if v != 0 {
			s.Index = append(s.Index, int32(i))
			s.Value = append(s.Value, v)
		}
	}
	return s
}

// scratch holds one example's activations.
type scratch[F Float] struct {
	h, a, z, p []F // pre-activation, relu, logits, softmax
}

func newScratch[F Float](c Config) *scratch[F] {
	return &scratch[F]{
		h: make([]F, c.Hidden), a: make([]F, c.Hidden),
		z: make([]F, c.Classes), p: make([]F, c.Classes),
	}
}

// forward fills s for x and returns the cross-entropy loss −log p[label].
func (n *Net[F]) forward(x Sample[F], s *scratch[F]) F {
	c := n.Config
	n.hidden(x, s.h)
	for o, h := range s.h {
		s.a[o] = max(h, 0)
	}
	for k := range c.Classes {
		w := n.W2[k*c.Hidden : (k+1)*c.Hidden]
		sum := n.B2[k]
		for o, a := range s.a {
			sum += w[o] * a
		}
		s.z[k] = sum
	}
	// Softmax, shifted by the largest logit; exp in float64.
	m := s.z[0]
	for _, v := range s.z[1:] {
		m = max(m, v)
	}
	var total F
	for k, v := range s.z {
		s.p[k] = F(math.Exp(float64(v - m)))
		total += s.p[k]
	}
	for k := range s.p {
		s.p[k] /= total
	}
	return F(math.Log(float64(total))) + m - s.z[x.Label]
}

// hidden sets h to fc1(x). Each unit's sum runs over x's features in
// order, from its bias; four units are summed side by side, which changes
// no bit of any sum and reads each feature once per four units.
//
// The race detector skips this loop and addOuter (go:norace), which would
// otherwise make up most of a race-enabled test's twentyfold slowdown.
// Neither can race unnoticed: both only touch fc1 and the caller's own
// buffers, and every path that reads or writes fc1 also reads or writes
// fc2 in instrumented code (the rest of forward, Step, Clone).
//
//go:norace
func (n *Net[F]) hidden(x Sample[F], h []F) {
	in := n.Config.Inputs
	idx, val := x.Index, x.Value[:len(x.Index)]
	o := 0
	for ; o+4 <= len(h); o += 4 {
		w0 := n.W1[o*in : (o+1)*in]
		w1 := n.W1[(o+1)*in : (o+2)*in]
		w2 := n.W1[(o+2)*in : (o+3)*in]
		w3 := n.W1[(o+3)*in : (o+4)*in]
		s0, s1, s2, s3 := n.B1[o], n.B1[o+1], n.B1[o+2], n.B1[o+3]
		for k, i := range idx {
			v := val[k]
			s0 += w0[i] * v
			s1 += w1[i] * v
			s2 += w2[i] * v
			s3 += w3[i] * v
		}
		h[o], h[o+1], h[o+2], h[o+3] = s0, s1, s2, s3
	}
	for ; o < len(h); o++ {
		w := n.W1[o*in : (o+1)*in]
		sum := n.B1[o]
		for k, i := range idx {
			sum += w[i] * val[k]
		}
		h[o] = sum
	}
}

// Predict returns the class with the largest logit for x (the lowest such
// class on a tie).
func (n *Net[F]) Predict(x Sample[F]) int {
	s := newScratch[F](n.Config)
	n.forward(x, s)
	return argmax(s.z)
}

func argmax[F Float](v []F) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// Accuracy returns the fraction of samples that n classifies correctly,
// or 0 for none.
func (n *Net[F]) Accuracy(samples []Sample[F]) float64 {
	if len(samples) == 0 {
		return 0
	}
	s := newScratch[F](n.Config)
	right := 0
	for _, x := range samples {
		n.forward(x, s)
		if argmax(s.z) == x.Label {
			right++
		}
	}
	return float64(right) / float64(len(samples))
}

// Loss returns the mean cross-entropy of n over samples, summed in order
// in float64.
func (n *Net[F]) Loss(samples []Sample[F]) float64 {
	s := newScratch[F](n.Config)
	var sum float64
	for _, x := range samples {
		sum += float64(n.forward(x, s))
	}
	return sum / float64(len(samples))
}
