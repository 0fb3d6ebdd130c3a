package lineage

import (
	"cmp"
	"slices"
)

// placeY gives every vertex a y (its centre), keeping each layer's order
// and spacing: Brandes and Köpf's, then each layer moved as little as its
// spacing needs (the average of the four passes may have pushed two
// vertices too close). The top of the part is at y = 0 afterwards.
func (p *part) placeY(o Options) {
	want := p.brandesKopf(o)
	for _, layer := range p.layers {
		p.fit(layer, want, o)
	}
	top := 0.0
	for i, v := range p.vs {
		if t := v.y - v.h/2; i == 0 || t < top {
			top = t
		}
	}
	for i := range p.vs {
		p.vs[i].y -= top
	}
}

// sep is the least distance between the centres of a and b, neighbours in
// a layer, a above b.
func (p *part) sep(a, b int, o Options) float64 {
	gap := o.EdgeGap
	if p.vs[a].node >= 0 && p.vs[b].node >= 0 {
		gap = o.NodeGap
	}
	return (p.vs[a].h+p.vs[b].h)/2 + gap
}

// fit places a layer's vertices as near to want as their order and
// spacing allow, in least squares.
func (p *part) fit(layer []int, want []float64, o Options) {
	target := make([]float64, len(layer))
	weight := make([]float64, len(layer))
	offset := 0.0
	for i, v := range layer {
		if i > 0 {
			offset += p.sep(layer[i-1], v, o)
		}
		// With y_i = z_i + offset_i the spacing rule is z non-decreasing.
		target[i], weight[i] = want[v]-offset, 1
	}
	z := isotonic(target, weight)
	offset = 0
	for i, v := range layer {
		if i > 0 {
			offset += p.sep(layer[i-1], v, o)
		}
		p.vs[v].y = z[i] + offset
	}
}

// isotonic returns the non-decreasing z nearest to want in weighted least
// squares, by pooling adjacent violators: O(n).
func isotonic(want, weight []float64) []float64 {
	type block struct {
		w, wy float64
		n     int
	}
	mean := func(b block) float64 { return b.wy / b.w }
	var stack []block
	for i := range want {
		b := block{weight[i], weight[i] * want[i], 1}
		for len(stack) > 0 && mean(stack[len(stack)-1]) >= mean(b) {
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			b = block{top.w + b.w, top.wy + b.wy, top.n + b.n}
		}
		stack = append(stack, b)
	}
	z := make([]float64, 0, len(want))
	for _, b := range stack {
		for range b.n {
			z = append(z, mean(b))
		}
	}
	return z
}

// portSpacing is the vertical distance between the ends of two edges on
// the same side of a node, as long as the node is tall enough.
const portSpacing = 4

// emit writes the part's boxes and routes into d, the part's top at y =
// top, and returns the part's bottom.
func (p *part) emit(d *Drawing, g *graph, nodes []Node, cols columns, top float64) float64 {
	bottom := top
	for _, v := range p.vs {
		bottom = max(bottom, top+v.y+v.h/2)
		if v.node < 0 {
			continue
		}
		n, l := nodes[v.node], v.layer+p.first
		d.Nodes[v.node] = Box{
			ID: n.ID, Layer: l,
			X: cols.x[l] + (cols.w[l]-n.Width)/2, Y: top + v.y - n.Height/2,
			W: n.Width, H: n.Height,
		}
	}
	start, end := p.ports()
	for k, e := range p.edges {
		chain := p.chains[k]
		from, to := d.Nodes[g.edges[e][0]], d.Nodes[g.edges[e][1]]
		pts := make([]Point, 0, 2*len(chain))
		y := from.Y + from.H/2 + start[k]
		pts = append(pts, Point{from.X + from.W, y})
		if right := cols.x[from.Layer] + cols.w[from.Layer]; right > from.X+from.W {
			pts = append(pts, Point{right, y})
		}
		for _, v := range chain[1 : len(chain)-1] {
			l, y := p.vs[v].layer+p.first, top+p.vs[v].y
			pts = append(pts, Point{cols.x[l], y}, Point{cols.x[l] + cols.w[l], y})
		}
		y = to.Y + to.H/2 + end[k]
		if left := cols.x[to.Layer]; left < to.X {
			pts = append(pts, Point{left, y})
		}
		pts = append(pts, Point{to.X, y})
		d.Edges[e] = Route{From: from.ID, To: to.ID, Points: pts}
	}
	return bottom
}

// ports spreads the ends of a node's edges over its side, in the order of
// the vertices they lead to, so that they cross nowhere near the node. It
// returns, by chain, the offset from the centre of the parent's end and of
// the child's.
func (p *part) ports() (start, end []float64) {
	outs := make([][]int, len(p.vs))
	ins := make([][]int, len(p.vs))
	for k, chain := range p.chains {
		outs[chain[0]] = append(outs[chain[0]], k)
		ins[chain[len(chain)-1]] = append(ins[chain[len(chain)-1]], k)
	}
	start = make([]float64, len(p.chains))
	end = make([]float64, len(p.chains))
	spread := func(v int, ks []int, next func(k int) int, off []float64) {
		slices.SortFunc(ks, func(a, b int) int {
			return cmp.Compare(p.vs[next(a)].pos, p.vs[next(b)].pos)
		})
		span := min(p.vs[v].h*0.6, float64(len(ks)-1)*portSpacing)
		for i, k := range ks {
			if len(ks) > 1 {
				off[k] = -span/2 + span*float64(i)/float64(len(ks)-1)
			}
		}
	}
	for v := range p.vs {
		spread(v, outs[v], func(k int) int { return p.chains[k][1] }, start)
		spread(v, ins[v], func(k int) int { return p.chains[k][len(p.chains[k])-2] }, end)
	}
	return start, end
}
