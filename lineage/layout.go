// Package lineage draws the release graph around a release, left to right:
// bases, the deltas built on them, the merges of those deltas, the deltas
// built on the merges, and so on. Layout places any directed acyclic graph
// in layers (a layered, Sugiyama-style drawing); WriteSVG draws a
// potluck.Lineage with it as a self-contained SVG for the hub's web view,
// with no script and no inline style.
package lineage

// Node is a box to place: an ID unique in the graph and its size.
type Node struct {
	ID            string
	Width, Height float64
}

// Edge runs from a parent to a child: the child is drawn to the right.
type Edge struct {
	From, To string
}

// Options tune Layout. The zero value gives the defaults.
type Options struct {
	LayerGap float64 // horizontal space between two layers; 0 means 64
	NodeGap  float64 // vertical space between two nodes of a layer; 0 means 14
	EdgeGap  float64 // vertical space beside an edge passing a layer; 0 means 6
	PartGap  float64 // vertical space between unconnected parts; 0 means 2×NodeGap
	// Sweeps bounds the crossing-reduction sweeps; 0 means 12, negative
	// means none (the depth-first order from the roots is kept).
	Sweeps int
}

func (o Options) withDefaults() Options {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.LayerGap, 64)
	def(&o.NodeGap, 14)
	def(&o.EdgeGap, 6)
	def(&o.PartGap, 2*o.NodeGap)
	if o.Sweeps == 0 {
		o.Sweeps = 12
	}
	return o
}

// Point is a point of the drawing; y grows downwards, as in SVG.
type Point struct{ X, Y float64 }

// Box is a node placed: its layer (0 is the leftmost), top-left corner and
// size.
type Box struct {
	ID         string
	Layer      int
	X, Y, W, H float64
}

// Route is an edge's path: from a point on the parent's right side, through
// the layers between (a horizontal run across each, clear of the nodes
// there), to a point on the child's left side. Drawn as straight lines it
// crosses other routes exactly where a smooth curve through the same
// points with horizontal tangents does.
type Route struct {
	From, To string
	Points   []Point
}

// Drawing is a graph laid out. Nodes follow the input's order, Edges too,
// with repeated edges left out.
type Drawing struct {
	Nodes         []Box
	Edges         []Route
	Layers        int
	Width, Height float64
	Crossings     int // pairs of edges that cross
}

// Layout places the graph in layers, every edge pointing right; it refuses
// a cycle, an edge to an unknown node and a repeated or empty ID. The same
// input gives the same drawing: where the heuristics tie, the node given
// first (for a lineage, the older release) comes first, top to bottom.
//
// The steps: longest-path layers, then nodes moved right where that
// shortens edges (roots next to their first child) or, for a node with as
// many parents as children, where the input order puts it between them;
// dummy vertices where an edge spans layers; each weakly connected part
// laid out on its own, the parts stacked top to bottom in the order of
// their first node; a depth-first first order, then barycentre sweeps that
// keep the order with the fewest crossings; y by Brandes and Köpf, which
// keeps long edges straight, then each layer spaced out where it must be;
// x by layer, each layer as wide as its widest node. Time and memory grow
// with the nodes plus the layers each edge spans: a study group of 1,000
// releases takes milliseconds.
func Layout(nodes []Node, edges []Edge, o Options) (*Drawing, error) {
	o = o.withDefaults()
	g, err := newGraph(nodes, edges)
	if err != nil {
		return nil, err
	}
	layer, err := g.layers()
	if err != nil {
		return nil, err
	}
	d := &Drawing{Nodes: make([]Box, len(nodes)), Edges: make([]Route, len(g.edges))}
	if len(nodes) == 0 {
		return d, nil
	}
	cols := newColumns(nodes, layer, o.LayerGap)
	height := make([]float64, len(nodes))
	for i, n := range nodes {
		height[i] = n.Height
	}
	parts := g.components()
	partOf := make([]int, len(nodes))
	for k, vs := range parts {
		for _, v := range vs {
			partOf[v] = k
		}
	}
	edgesOf := make([][]int, len(parts))
	for e, uv := range g.edges {
		k := partOf[uv[0]]
		edgesOf[k] = append(edgesOf[k], e)
	}
	local := make([]int, len(nodes))
	top := 0.0
	for k, vs := range parts {
		p := newPart(g, vs, edgesOf[k], layer, height, local)
		d.Crossings += p.reduceCrossings(max(o.Sweeps, 0))
		p.placeY(o)
		top = p.emit(d, g, nodes, cols, top) + o.PartGap
	}
	d.Layers = len(cols.x)
	d.Width = cols.x[d.Layers-1] + cols.w[d.Layers-1]
	d.Height = top - o.PartGap
	return d, nil
}

// columns are the layers' left edges and widths.
type columns struct{ x, w []float64 }

func newColumns(nodes []Node, layer []int, gap float64) columns {
	n := 0
	for _, l := range layer {
		n = max(n, l+1)
	}
	c := columns{x: make([]float64, n), w: make([]float64, n)}
	for i, nd := range nodes {
		c.w[layer[i]] = max(c.w[layer[i]], nd.Width)
	}
	for l := 1; l < n; l++ {
		c.x[l] = c.x[l-1] + c.w[l-1] + gap
	}
	return c
}
