package lineage

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Errors Layout returns for a graph it cannot draw, wrapped with the node
// at fault.
var (
	// ErrCycle: a node is its own ancestor, so no layer can come first.
	ErrCycle = errors.New("graph has a cycle")
	// ErrUnknownNode: an edge names a node that is not in the graph.
	ErrUnknownNode = errors.New("edge to a node not in the graph")
	// ErrDuplicateNode: two nodes have the same ID, or one has none.
	ErrDuplicateNode = errors.New("node ID not unique")
)

// graph is Layout's input checked and indexed: node i is nodes[i], and an
// edge is a pair of node indices, parent first.
type graph struct {
	ids      []string
	parents  [][]int // by node, in edge order
	children [][]int // by node, in edge order
	edges    [][2]int
}

// newGraph indexes nodes and edges, dropping repeated edges and refusing
// unknown endpoints, self-loops, repeated or empty IDs and sizes that
// are negative or not finite.
func newGraph(nodes []Node, edges []Edge) (*graph, error) {
	g := &graph{
		ids:      make([]string, len(nodes)),
		parents:  make([][]int, len(nodes)),
		children: make([][]int, len(nodes)),
	}
	index := make(map[string]int, len(nodes))
	for i, n := range nodes {
		if n.ID == "" {
			return nil, fmt.Errorf("layout: node %d: empty ID: %w", i, ErrDuplicateNode)
		}
		if j, ok := index[n.ID]; ok {
			return nil, fmt.Errorf("layout: node %q: given as node %d and %d: %w", n.ID, j, i, ErrDuplicateNode)
		}
		if !(n.Width >= 0 && n.Height >= 0 && n.Width < math.Inf(1) && n.Height < math.Inf(1)) {
			return nil, fmt.Errorf("layout: node %q: size %v×%v, want finite and not negative", n.ID, n.Width, n.Height)
		}
		index[n.ID] = i
		g.ids[i] = n.ID
	}
	seen := make(map[[2]int]bool, len(edges))
	for _, e := range edges {
		u, ok := index[e.From]
		if !ok {
			return nil, fmt.Errorf("layout: edge %q → %q: node %q: %w", e.From, e.To, e.From, ErrUnknownNode)
		}
		v, ok := index[e.To]
		if !ok {
			return nil, fmt.Errorf("layout: edge %q → %q: node %q: %w", e.From, e.To, e.To, ErrUnknownNode)
		}
		if u == v {
			return nil, fmt.Errorf("layout: %w through %q: its own parent", ErrCycle, e.From)
		}
		if seen[[2]int{u, v}] {
			continue
		}
		seen[[2]int{u, v}] = true
		g.edges = append(g.edges, [2]int{u, v})
		g.parents[v] = append(g.parents[v], u)
		g.children[u] = append(g.children[u], v)
	}
	return g, nil
}

// layers gives each node its layer: one past its furthest parent (the
// longest path from a root), then, from the leaves back, each node with
// children moved right as far as it can go (just before its first child)
// if that shortens more edges than it lengthens, and part of the way if it
// shortens as many: as far as its place in the input's order between its
// last parent and its first child says, so that for a lineage given in
// creation order the layers follow time. A cycle is an error naming a node
// on it.
func (g *graph) layers() ([]int, error) {
	n := len(g.ids)
	layer := make([]int, n)
	waiting := make([]int, n) // parents not yet placed
	queue := make([]int, 0, n)
	for v := range n {
		waiting[v] = len(g.parents[v])
		if waiting[v] == 0 {
			queue = append(queue, v)
		}
	}
	for i := 0; i < len(queue); i++ {
		v := queue[i]
		for _, c := range g.children[v] {
			layer[c] = max(layer[c], layer[v]+1)
			if waiting[c]--; waiting[c] == 0 {
				queue = append(queue, c)
			}
		}
	}
	if len(queue) < n {
		return nil, g.cycleError(waiting)
	}
	for _, v := range slices.Backward(queue) {
		if in, out := len(g.parents[v]), len(g.children[v]); out > 0 && in <= out {
			layer[v] += g.slack(v, layer, in == out)
		}
	}
	return layer, nil
}

// slack is how far right v moves: all the way to just before its first
// child, or if partway, as far as v's index lies between its last
// parent's and its first child's.
func (g *graph) slack(v int, layer []int, partway bool) int {
	room := layer[g.children[v][0]]
	first := g.children[v][0]
	for _, c := range g.children[v] {
		room, first = min(room, layer[c]), min(first, c)
	}
	room -= layer[v] + 1
	if !partway || room == 0 {
		return room
	}
	last := slices.Max(g.parents[v])
	if first <= last {
		return 0
	}
	f := float64(v-last) / float64(first-last)
	return int(math.Round(max(0, min(1, f)) * float64(room)))
}

// cycleError names a cycle among the nodes the topological sort could not
// place: each has a parent also unplaced, so walking up from the first one
// must come back to a node already seen.
func (g *graph) cycleError(waiting []int) error {
	start := 0
	for waiting[start] == 0 {
		start++
	}
	at := map[int]int{} // node → position on the walk
	var walk []int
	for v := start; ; {
		if i, ok := at[v]; ok {
			walk = walk[i:]
			break
		}
		at[v] = len(walk)
		walk = append(walk, v)
		for _, p := range g.parents[v] {
			if waiting[p] > 0 {
				v = p
				break
			}
		}
	}
	// walk goes from child to parent; print it along the edges, from the
	// node given first.
	slices.Reverse(walk)
	first := slices.Index(walk, slices.Min(walk))
	walk = slices.Concat(walk[first:], walk[:first])
	names := make([]string, len(walk))
	for i, v := range walk {
		names[i] = fmt.Sprintf("%q", g.ids[v])
	}
	if len(names) > 8 {
		names = append(names[:4:4], "…", names[len(names)-3], names[len(names)-2], names[len(names)-1])
	}
	names = append(names, names[0])
	return fmt.Errorf("layout: %w through %s: %s", ErrCycle, names[0], strings.Join(names, " → "))
}

// components splits the nodes into weakly connected parts, each listed in
// node order; the parts come in the order of their first node.
func (g *graph) components() [][]int {
	n := len(g.ids)
	root := make([]int, n)
	for i := range root {
		root[i] = i
	}
	find := func(v int) int {
		for root[v] != v {
			root[v] = root[root[v]]
			v = root[v]
		}
		return v
	}
	for _, e := range g.edges {
		a, b := find(e[0]), find(e[1])
		if a != b {
			root[max(a, b)] = min(a, b) // the smaller index stays the root
		}
	}
	part := map[int]int{}
	var out [][]int
	for v := range n {
		r := find(v)
		k, ok := part[r]
		if !ok {
			k = len(out)
			part[r] = k
			out = append(out, nil)
		}
		out[k] = append(out[k], v)
	}
	return out
}
