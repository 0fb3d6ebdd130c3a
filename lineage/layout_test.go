package lineage_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck/lineage"
)

func TestLayoutStudyGroup(t *testing.T) {
	for _, n := range []int{1, 2, 30, 500} {
		nodes, edges := graphOf(studyGroup(n, 7), 180, 40)
		d, err := lineage.Layout(nodes, edges, lineage.Options{})
		if err != nil {
			t.Fatal(err)
		}
		crossings := checkDrawing(t, nodes, edges, d)
		if crossings != d.Crossings {
			t.Errorf("%d nodes: the routes cross %d times, Layout counts %d", n, crossings, d.Crossings)
		}
		t.Logf("%d nodes, %d edges: %d layers, %.0f×%.0f, %d crossings", n, len(edges), d.Layers, d.Width, d.Height, crossings)
	}
}

func TestLayoutRandomDAGs(t *testing.T) {
	for seed := range uint64(20) {
		nodes, edges := randomDAG(10+int(seed)*15, 3, seed)
		d, err := lineage.Layout(nodes, edges, lineage.Options{})
		if err != nil {
			t.Fatal(err)
		}
		checkDrawing(t, nodes, edges, d)
	}
}

// Crossing reduction never makes things worse than the depth-first order
// it starts from, and does better on the whole.
func TestCrossingsReduced(t *testing.T) {
	sumBefore, sumAfter := 0, 0
	check := func(name string, nodes []lineage.Node, edges []lineage.Edge) {
		t.Helper()
		before, err := lineage.Layout(nodes, edges, lineage.Options{Sweeps: -1})
		if err != nil {
			t.Fatal(err)
		}
		after, err := lineage.Layout(nodes, edges, lineage.Options{})
		if err != nil {
			t.Fatal(err)
		}
		b, a := checkDrawing(t, nodes, edges, before), checkDrawing(t, nodes, edges, after)
		if a > b {
			t.Errorf("%s: %d crossings after reduction, %d before", name, a, b)
		}
		sumBefore, sumAfter = sumBefore+b, sumAfter+a
	}
	for seed := range uint64(12) {
		nodes, edges := randomDAG(40+int(seed)*10, 3, 100+seed)
		check(fmt.Sprintf("random DAG %d", seed), nodes, edges)
		nodes, edges = graphOf(studyGroup(60+int(seed)*20, seed), 180, 40)
		check(fmt.Sprintf("study group %d", seed), nodes, edges)
	}
	t.Logf("crossings: %d before reduction, %d after", sumBefore, sumAfter)
	if sumAfter >= sumBefore {
		t.Errorf("reduction removed no crossings: %d before, %d after", sumBefore, sumAfter)
	}
}

// Graphs that have a layered drawing with no crossings get one.
func TestNoCrossingsWhenPlanar(t *testing.T) {
	for seed := range uint64(10) {
		nodes, edges := randomDAG(20+int(seed)*40, 1, seed)
		d, err := lineage.Layout(nodes, edges, lineage.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if n := checkDrawing(t, nodes, edges, d); n != 0 {
			t.Errorf("forest %d: %d crossings", seed, n)
		}
	}
	nodes, edges := roundsChain(40, 6)
	d, err := lineage.Layout(nodes, edges, lineage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := checkDrawing(t, nodes, edges, d); n != 0 {
		t.Errorf("chain of rounds: %d crossings", n)
	}
	if d.Layers != 2*40+1 {
		t.Errorf("chain of 40 rounds: %d layers, want 81", d.Layers)
	}
}

// roundsChain is the simplest study group: a base, then rounds of labs'
// deltas on the latest merge and the hub's merge of them (its parents the
// merge before and the round's deltas).
func roundsChain(rounds, labs int) ([]lineage.Node, []lineage.Edge) {
	nodes := []lineage.Node{{ID: "base", Width: 100, Height: 30}}
	var edges []lineage.Edge
	head := "base"
	for r := range rounds {
		merge := fmt.Sprintf("merge-%d", r)
		edges = append(edges, lineage.Edge{From: head, To: merge})
		for l := range labs {
			d := fmt.Sprintf("delta-%d-%d", r, l)
			nodes = append(nodes, lineage.Node{ID: d, Width: 100, Height: 30})
			edges = append(edges, lineage.Edge{From: head, To: d}, lineage.Edge{From: d, To: merge})
		}
		nodes = append(nodes, lineage.Node{ID: merge, Width: 100, Height: 30})
		head = merge
	}
	return nodes, edges
}

// In a chain of rounds with an even number of labs, the edge from each
// merge to the next runs straight between the round's deltas, so the
// merges line up with the base.
func TestRoundsRunStraight(t *testing.T) {
	for _, labs := range []int{2, 6, 20} {
		nodes, edges := roundsChain(12, labs)
		d, err := lineage.Layout(nodes, edges, lineage.Options{})
		if err != nil {
			t.Fatal(err)
		}
		base := d.Nodes[0].Y
		for _, b := range d.Nodes {
			if strings.HasPrefix(b.ID, "merge-") && b.Y != base {
				t.Errorf("%d labs: %s at y=%v, the base at y=%v", labs, b.ID, b.Y, base)
			}
		}
	}
}

// A merge of twenty deltas sits in the layer after them all, its twenty
// edges ending at twenty different points on its left side.
func TestLayoutManyParents(t *testing.T) {
	nodes := []lineage.Node{{ID: "base", Width: 100, Height: 30}, {ID: "merge", Width: 100, Height: 30}}
	edges := []lineage.Edge{{From: "base", To: "merge"}}
	for i := range 20 {
		d := fmt.Sprintf("d%02d", i)
		nodes = append(nodes, lineage.Node{ID: d, Width: 100, Height: 30})
		edges = append(edges, lineage.Edge{From: "base", To: d}, lineage.Edge{From: d, To: "merge"})
	}
	d, err := lineage.Layout(nodes, edges, lineage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := checkDrawing(t, nodes, edges, d); n != 0 {
		t.Errorf("%d crossings", n)
	}
	ends := map[lineage.Point]bool{}
	for _, r := range d.Edges {
		if r.To == "merge" {
			ends[r.Points[len(r.Points)-1]] = true
		}
	}
	if len(ends) != 21 {
		t.Errorf("the merge's 21 edges end at %d points", len(ends))
	}
}

func TestLayoutDeterministic(t *testing.T) {
	nodes, edges := graphOf(studyGroup(300, 3), 180, 40)
	first, err := lineage.Layout(nodes, edges, lineage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		again, err := lineage.Layout(nodes, edges, lineage.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(first, again) {
			t.Fatal("the same graph laid out twice gives two drawings")
		}
	}
}

func TestLayoutEmpty(t *testing.T) {
	d, err := lineage.Layout(nil, nil, lineage.Options{})
	if err != nil || len(d.Nodes) != 0 || d.Width != 0 || d.Height != 0 {
		t.Fatalf("empty graph: %+v, %v", d, err)
	}
}

func TestLayoutBadInput(t *testing.T) {
	ns := func(ids ...string) []lineage.Node {
		var out []lineage.Node
		for _, id := range ids {
			out = append(out, lineage.Node{ID: id, Width: 10, Height: 10})
		}
		return out
	}
	es := func(pairs ...string) []lineage.Edge {
		var out []lineage.Edge
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, lineage.Edge{From: pairs[i], To: pairs[i+1]})
		}
		return out
	}
	for _, c := range []struct {
		name  string
		nodes []lineage.Node
		edges []lineage.Edge
		want  error
		says  []string // what the message must name
	}{
		{"cycle", ns("base", "a", "b", "c", "lone"), es("base", "a", "a", "b", "b", "c", "c", "a"), lineage.ErrCycle,
			[]string{`"a" → "b" → "c" → "a"`}},
		{"own parent", ns("a"), es("a", "a"), lineage.ErrCycle, []string{`"a"`}},
		{"unknown child", ns("a"), es("a", "ghost"), lineage.ErrUnknownNode, []string{`"ghost"`}},
		{"unknown parent", ns("a"), es("ghost", "a"), lineage.ErrUnknownNode, []string{`"ghost"`}},
		{"twice", ns("a", "b", "a"), nil, lineage.ErrDuplicateNode, []string{`"a"`, "0 and 2"}},
		{"no ID", ns("a", ""), nil, lineage.ErrDuplicateNode, []string{"node 1"}},
		{"negative size", []lineage.Node{{ID: "a", Width: -1}}, nil, nil, []string{`"a"`, "size"}},
	} {
		d, err := lineage.Layout(c.nodes, c.edges, lineage.Options{})
		if err == nil {
			t.Errorf("%s: no error, drawing %+v", c.name, d)
			continue
		}
		if c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.want)
		}
		for _, s := range c.says {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: error %q does not say %s", c.name, err, s)
			}
		}
	}
}

// A cycle through a thousand nodes is refused at once, and the message
// stays short.
func TestLayoutLongCycle(t *testing.T) {
	nodes, edges := roundsChain(300, 2)
	edges = append(edges, lineage.Edge{From: "merge-299", To: "delta-0-1"})
	_, err := lineage.Layout(nodes, edges, lineage.Options{})
	if !errors.Is(err, lineage.ErrCycle) {
		t.Fatalf("error %v, want a cycle", err)
	}
	if len(err.Error()) > 400 {
		t.Errorf("message of %d bytes: %s", len(err.Error()), err)
	}
	t.Log(err)
}
