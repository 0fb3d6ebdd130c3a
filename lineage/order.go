package lineage

import (
	"cmp"
	"slices"
)

// vertex is a vertex of a part's proper layered graph, where every edge
// joins neighbouring layers: a node, or a dummy where a longer edge passes
// a layer.
type vertex struct {
	node     int     // the node's index, or -1 for a dummy
	layer    int     // index into part.layers
	pos      int     // place in its layer, top first
	h        float64 // height; 0 for a dummy
	y        float64 // centre
	up, down []int   // neighbours in the layers before and after
}

// part is one weakly connected part of the graph, laid out on its own.
type part struct {
	vs     []vertex
	first  int     // the layer of part.layers[0]
	layers [][]int // vertex indices, top first
	edges  []int   // the graph's edges in this part, in edge order
	chains [][]int // by edges: its vertices from parent to child
}

// newPart builds the proper layered graph of the nodes and edges of one
// part. local is scratch space with a slot per node of the graph.
func newPart(g *graph, nodes, edges, layer []int, height []float64, local []int) *part {
	p := &part{first: layer[nodes[0]], edges: edges}
	last := p.first
	for _, v := range nodes {
		p.first, last = min(p.first, layer[v]), max(last, layer[v])
	}
	p.layers = make([][]int, last-p.first+1)
	p.vs = make([]vertex, len(nodes), len(nodes)+2*len(edges))
	for i, v := range nodes {
		local[v] = i
		p.vs[i] = vertex{node: v, layer: layer[v] - p.first, h: height[v]}
	}
	p.chains = make([][]int, len(edges))
	for k, e := range edges {
		u, v := g.edges[e][0], g.edges[e][1]
		chain := make([]int, 0, layer[v]-layer[u]+1)
		chain = append(chain, local[u])
		for l := layer[u] + 1; l < layer[v]; l++ {
			chain = append(chain, len(p.vs))
			p.vs = append(p.vs, vertex{node: -1, layer: l - p.first})
		}
		chain = append(chain, local[v])
		a, b := chain[0], chain[len(chain)-1]
		p.vs[a].down = append(p.vs[a].down, chain[1])
		p.vs[b].up = append(p.vs[b].up, chain[len(chain)-2])
		for i := 1; i < len(chain)-1; i++ {
			// A dummy's neighbours are its chain's; sharing it saves a
			// pair of allocations a dummy.
			p.vs[chain[i]].up, p.vs[chain[i]].down = chain[i-1:i:i], chain[i+1:i+2:i+2]
		}
		p.chains[k] = chain
	}
	p.initialOrder()
	return p
}

// initialOrder fills the layers in depth-first order from the roots, taken
// in node order, so that a tree starts out with no crossings. A vertex's
// children are visited in edge order, but with the edges that pass the
// next layer in the middle: the edge from one merge to the next then runs
// straight between the deltas of the round.
func (p *part) initialOrder() {
	seen := make([]bool, len(p.vs))
	var visit func(v int)
	visit = func(v int) {
		seen[v] = true
		l := p.vs[v].layer
		p.vs[v].pos = len(p.layers[l])
		p.layers[l] = append(p.layers[l], v)
		for _, c := range p.middleOut(v) {
			if !seen[c] {
				visit(c)
			}
		}
	}
	for v := range p.vs {
		if p.vs[v].node >= 0 && len(p.vs[v].up) == 0 && !seen[v] {
			visit(v)
		}
	}
}

// middleOut is v's neighbours in the next layer, the dummies moved to the
// middle of the nodes.
func (p *part) middleOut(v int) []int {
	var nodes, dummies []int
	for _, c := range p.vs[v].down {
		if p.vs[c].node >= 0 {
			nodes = append(nodes, c)
		} else {
			dummies = append(dummies, c)
		}
	}
	half := len(nodes) / 2
	return slices.Concat(nodes[:half], dummies, nodes[half:])
}

// reduceCrossings sweeps the layers down and up, sorting each by the
// barycentre of its neighbours in the layer just fixed, and keeps the
// order with the fewest crossings seen (the first one on a tie). It stops
// after sweeps sweeps, at no crossings, or after four sweeps that found no
// better order. It returns the crossings of the order kept.
func (p *part) reduceCrossings(sweeps int) int {
	best := p.crossings()
	keep := p.snapshot()
	for i, stale := 0, 0; i < sweeps && best > 0 && stale < 4; i++ {
		if i%2 == 0 {
			for l := 1; l < len(p.layers); l++ {
				p.sortLayer(l, true)
			}
		} else {
			for l := len(p.layers) - 2; l >= 0; l-- {
				p.sortLayer(l, false)
			}
		}
		if c := p.crossings(); c < best {
			best, keep, stale = c, p.snapshot(), 0
		} else {
			stale++
		}
	}
	for l, order := range keep {
		p.layers[l] = order
		for i, v := range order {
			p.vs[v].pos = i
		}
	}
	return best
}

func (p *part) snapshot() [][]int {
	out := make([][]int, len(p.layers))
	for l, order := range p.layers {
		out[l] = slices.Clone(order)
	}
	return out
}

// sortLayer orders layer l by the mean position of each vertex's
// neighbours above (up) or below. A vertex with no neighbours there keeps
// its slot; ties keep their present order, so the result is deterministic.
func (p *part) sortLayer(l int, up bool) {
	type keyed struct {
		v   int
		key float64
	}
	layer := p.layers[l]
	moving := make([]keyed, 0, len(layer))
	for _, v := range layer {
		nb := p.neighbours(v, up)
		if len(nb) == 0 {
			continue
		}
		sum := 0
		for _, u := range nb {
			sum += p.vs[u].pos
		}
		moving = append(moving, keyed{v, float64(sum) / float64(len(nb))})
	}
	slices.SortStableFunc(moving, func(a, b keyed) int { return cmp.Compare(a.key, b.key) })
	j := 0
	for i, v := range layer {
		if len(p.neighbours(v, up)) > 0 {
			layer[i] = moving[j].v
			j++
		}
	}
	for i, v := range layer {
		p.vs[v].pos = i
	}
}

func (p *part) neighbours(v int, up bool) []int {
	if up {
		return p.vs[v].up
	}
	return p.vs[v].down
}

// crossings counts the pairs of edges that cross between each two
// neighbouring layers: the inversions of the lower ends taken in the order
// of the upper ones (Barth, Jünger and Mutzel's accumulator, a Fenwick
// tree here), O(E log V).
func (p *part) crossings() int {
	total := 0
	var ends []int
	for l := 0; l+1 < len(p.layers); l++ {
		tree := make([]int, len(p.layers[l+1])+1)
		seen := 0
		for _, v := range p.layers[l] {
			ends = ends[:0]
			for _, c := range p.vs[v].down {
				ends = append(ends, p.vs[c].pos)
			}
			slices.Sort(ends)
			for _, e := range ends {
				// Edges seen so far that end below e cross this one.
				below := seen
				for i := e + 1; i > 0; i -= i & -i {
					below -= tree[i]
				}
				total += below
				for i := e + 1; i < len(tree); i += i & -i {
					tree[i]++
				}
				seen++
			}
		}
	}
	return total
}
