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
	for o := range c.Hidden {
		w := n.W1[o*c.Inputs : (o+1)*c.Inputs]
		sum := n.B1[o]
		for k, i := range x.Index {
			sum += w[i] * x.Value[k]
		}
		s.h[o] = sum
		s.a[o] = max(sum, 0)
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
