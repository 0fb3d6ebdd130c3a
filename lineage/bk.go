package lineage

import (
	"cmp"
	"slices"
)

// brandesKopf gives every vertex a y by Brandes and Köpf's method (Fast
// and Simple Horizontal Coordinate Assignment, 2001): four passes, each
// aligning every vertex with a median neighbour in the layer before or
// after into vertical blocks, then packing the blocks towards the top or
// the bottom; each vertex gets the mean of its two middle y's of the four.
// Two changes: a node is never aligned with a dummy, so a long edge's
// dummies form a block of their own (a straight run, unless it crosses
// another long edge) and its ends curve into nodes that stay with their
// layer's others; and blocks are packed by longest path over the "just
// above" relation rather than by the paper's classes.
func (p *part) brandesKopf(o Options) []float64 {
	marked := p.typeOneConflicts()
	var ys [4][]float64
	best := 0
	for f := range ys {
		ys[f] = p.bkPass(marked, f&1 == 0, f&2 == 0, o)
		if extent(ys[f]) < extent(ys[best]) {
			best = f
		}
	}
	lo, hi := bounds(ys[best])
	for f, y := range ys {
		l, h := bounds(y)
		shift := lo - l // a pass packed to the top keeps its top
		if f&2 != 0 {
			shift = hi - h
		}
		for v := range y {
			y[v] += shift
		}
	}
	out := make([]float64, len(p.vs))
	var four [4]float64
	for v := range out {
		for f := range ys {
			four[f] = ys[f][v]
		}
		slices.Sort(four[:])
		out[v] = (four[1] + four[2]) / 2
	}
	return out
}

// bkPass is one of the four passes: aligning with the layer before (down)
// or after, packing towards the top (topFirst) or the bottom.
func (p *part) bkPass(marked map[[2]int]bool, down, topFirst bool, o Options) []float64 {
	n := len(p.vs)
	layers := make([][]int, len(p.layers))
	fpos := make([]int, n) // position in the pass's order
	for l, layer := range p.layers {
		fl := slices.Clone(layer)
		if !topFirst {
			slices.Reverse(fl)
		}
		for i, v := range fl {
			fpos[v] = i
		}
		layers[l] = fl
	}
	if !down {
		slices.Reverse(layers)
	}
	root, align := make([]int, n), make([]int, n)
	for v := range n {
		root[v], align[v] = v, v
	}
	var ups []int
	for _, layer := range layers[min(1, len(layers)):] {
		r := -1
		for _, v := range layer {
			ups = append(ups[:0], p.neighbours(v, down)...)
			slices.SortFunc(ups, func(a, b int) int { return cmp.Compare(fpos[a], fpos[b]) })
			for m := (len(ups) - 1) / 2; len(ups) > 0 && m <= len(ups)/2 && align[v] == v; m++ {
				u := ups[m]
				if !marked[segment(u, v)] && r < fpos[u] && (p.vs[u].node < 0) == (p.vs[v].node < 0) {
					align[u], root[v] = v, root[u]
					align[v], r = root[v], fpos[u]
				}
			}
		}
	}
	layerOf := func(v int) []int {
		if down {
			return layers[p.vs[v].layer]
		}
		return layers[len(layers)-1-p.vs[v].layer]
	}
	x := make([]float64, n)
	placed := make([]bool, n)
	var place func(v int)
	place = func(v int) { // v is a block's root
		if placed[v] {
			return
		}
		placed[v] = true
		for w := v; ; {
			if i := fpos[w]; i > 0 {
				pred := layerOf(w)[i-1]
				place(root[pred])
				x[v] = max(x[v], x[root[pred]]+p.sep(pred, w, o))
			}
			if w = align[w]; w == v {
				break
			}
		}
	}
	y := make([]float64, n)
	for v := range n {
		place(root[v])
		if y[v] = x[root[v]]; !topFirst {
			y[v] = -y[v]
		}
	}
	return y
}

// typeOneConflicts marks the segments (edges of the proper graph) that
// cross an inner segment, one joining two dummies: aligning along them
// would bend a long edge.
func (p *part) typeOneConflicts() map[[2]int]bool {
	marked := map[[2]int]bool{}
	for l := 0; l+1 < len(p.layers); l++ {
		lower := p.layers[l+1]
		k0, scan := 0, 0
		for l1, v := range lower {
			inner := -1 // position of v's upper end if v ends an inner segment
			if p.vs[v].node < 0 && p.vs[p.vs[v].up[0]].node < 0 {
				inner = p.vs[p.vs[v].up[0]].pos
			}
			if inner < 0 && l1 < len(lower)-1 {
				continue
			}
			k1 := len(p.layers[l]) - 1
			if inner >= 0 {
				k1 = inner
			}
			for ; scan <= l1; scan++ {
				w := lower[scan]
				for _, u := range p.vs[w].up {
					isInner := p.vs[w].node < 0 && p.vs[u].node < 0
					if !isInner && (p.vs[u].pos < k0 || p.vs[u].pos > k1) {
						marked[segment(u, w)] = true
					}
				}
			}
			k0 = k1
		}
	}
	return marked
}

// segment names the edge between u and v of neighbouring layers, either
// way round.
func segment(u, v int) [2]int {
	return [2]int{min(u, v), max(u, v)}
}

func bounds(y []float64) (lo, hi float64) {
	lo, hi = y[0], y[0]
	for _, v := range y {
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

func extent(y []float64) float64 {
	lo, hi := bounds(y)
	return hi - lo
}
