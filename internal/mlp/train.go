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
	active    []int // hidden units with h > 0
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
		t.active = t.active[:0]
		for o, h := range s.h {
			if h > 0 { // relu'(h) = 0 for h ≤ 0
				g.B1[o] += t.dh[o]
				t.active = append(t.active, o)
			}
		}
		t.addOuter(g.W1, x)
	}
	return loss * scale
}

// addOuter adds dh[o]·x to row o of gw for each active unit o, four rows
// side by side (each element still gets its additions in feature order).
// Like hidden, it is not race-instrumented.
//
//go:norace
func (t *Trainer[F]) addOuter(gw []F, x Sample[F]) {
	in := t.Net.Config.Inputs
	idx, val := x.Index, x.Value[:len(x.Index)]
	a := t.active
	j := 0
	for ; j+4 <= len(a); j += 4 {
		o0, o1, o2, o3 := a[j], a[j+1], a[j+2], a[j+3]
		g0 := gw[o0*in : (o0+1)*in]
		g1 := gw[o1*in : (o1+1)*in]
		g2 := gw[o2*in : (o2+1)*in]
		g3 := gw[o3*in : (o3+1)*in]
		d0, d1, d2, d3 := t.dh[o0], t.dh[o1], t.dh[o2], t.dh[o3]
		for k, i := range idx {
			v := val[k]
			g0[i] += d0 * v
			g1[i] += d1 * v
			g2[i] += d2 * v
			g3[i] += d3 * v
		}
	}
	for ; j < len(a); j++ {
		o := a[j]
		g := gw[o*in : (o+1)*in]
		d := t.dh[o]
		for k, i := range idx {
			g[i] += d * val[k]
		}
	}
}

// Grad returns the gradient computed by the last Gradient or Step; it is
// the trainer's own and changes with the next call.
func (t *Trainer[F]) Grad() *Net[F] { return t.grad }
