package mlp

// A Trainer updates a network by minibatch SGD with momentum:
//
//	v ← μ·v + g;  w ← w − η·v
//
// where g is the gradient of the batch's mean cross-entropy. With μ = 0 it
// is plain SGD. Its velocity starts at zero.
type Trainer[F Float] struct {
	Net      *Net[F]
	LR       F // η
	Momentum F // μ

	grad, vel *Net[F]
	s         *scratch[F]
	dz, dh    []F
}

// NewTrainer returns a trainer that updates n in place.
func NewTrainer[F Float](n *Net[F], lr, momentum F) *Trainer[F] {
	c := n.Config
	return &Trainer[F]{
		Net: n, LR: lr, Momentum: momentum,
		grad: Zero[F](c), vel: Zero[F](c), s: newScratch[F](c),
		dz: make([]F, c.Classes), dh: make([]F, c.Hidden),
	}
}

// Step takes one SGD step on batch and returns the batch's mean loss before
// the step. An empty batch changes nothing.
func (t *Trainer[F]) Step(batch []Sample[F]) F {
	if len(batch) == 0 {
		return 0
	}
	loss := t.Gradient(batch)
	g, v := t.grad.Tensors(), t.vel.Tensors()
	for i, w := range t.Net.Tensors() {
		for j := range w.Data {
			v[i].Data[j] = t.Momentum*v[i].Data[j] + g[i].Data[j]
			w.Data[j] -= t.LR * v[i].Data[j]
		}
	}
	return loss
}

// Gradient sets the trainer's gradient to that of batch's mean
// cross-entropy at the current weights and returns that mean. It adds the
// examples' contributions in batch order.
func (t *Trainer[F]) Gradient(batch []Sample[F]) F {
	n, c, g, s := t.Net, t.Net.Config, t.grad, t.s
	for _, w := range g.Tensors() {
		clear(w.Data)
	}
	scale := 1 / F(len(batch))
	var loss F
	for _, x := range batch {
		loss += n.forward(x, s)
		for k := range c.Classes {
			t.dz[k] = s.p[k] * scale
		}
		t.dz[x.Label] -= scale
		clear(t.dh)
		for k, dz := range t.dz {
			g.B2[k] += dz
			gw := g.W2[k*c.Hidden : (k+1)*c.Hidden]
			w := n.W2[k*c.Hidden : (k+1)*c.Hidden]
			for o, a := range s.a {
				gw[o] += dz * a
				t.dh[o] += w[o] * dz
			}
		}
		for o, dh := range t.dh {
			if s.h[o] <= 0 {
				continue // relu'(h) = 0 (taken as 0 at h = 0)
			}
			g.B1[o] += dh
			gw := g.W1[o*c.Inputs : (o+1)*c.Inputs]
			for k, i := range x.Index {
				gw[i] += dh * x.Value[k]
			}
		}
	}
	return loss * scale
}

// Grad returns the gradient computed by the last Gradient or Step; it is
// the trainer's own and changes with the next call.
func (t *Trainer[F]) Grad() *Net[F] { return t.grad }
