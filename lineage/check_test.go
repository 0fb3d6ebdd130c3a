package lineage_test

import (
	"testing"

	"github.com/potluck-hub/potluck/lineage"
)

// checkDrawing checks a drawing of nodes and edges from its geometry alone:
// every node once, at its size; no two boxes overlap; every edge's route
// starts on its parent's right side, ends on its child's left side, runs
// left to right and passes through no other box; the parent's box ends
// left of the child's. It returns the crossings it counts between routes.
func checkDrawing(t *testing.T, nodes []lineage.Node, edges []lineage.Edge, d *lineage.Drawing) int {
	t.Helper()
	box := map[string]lineage.Box{}
	for _, b := range d.Nodes {
		if _, dup := box[b.ID]; dup {
			t.Fatalf("node %s drawn twice", b.ID)
		}
		box[b.ID] = b
	}
	for _, n := range nodes {
		b, ok := box[n.ID]
		if !ok {
			t.Fatalf("node %s not drawn", n.ID)
		}
		if b.W != n.Width || b.H != n.Height {
			t.Errorf("node %s drawn %v×%v, given %v×%v", n.ID, b.W, b.H, n.Width, n.Height)
		}
		if b.X < 0 || b.Y < 0 || b.X+b.W > d.Width+1e-9 || b.Y+b.H > d.Height+1e-9 {
			t.Errorf("node %s at %+v outside the drawing %v×%v", n.ID, b, d.Width, d.Height)
		}
	}
	if len(box) != len(nodes) {
		t.Fatalf("%d nodes drawn, %d given", len(box), len(nodes))
	}
	checkNoOverlap(t, d.Nodes)

	want := map[lineage.Edge]bool{}
	for _, e := range edges {
		want[e] = true
	}
	got := map[lineage.Edge]bool{}
	for _, r := range d.Edges {
		e := lineage.Edge{From: r.From, To: r.To}
		if !want[e] || got[e] {
			t.Fatalf("route %s → %s: not an edge given, or drawn twice", r.From, r.To)
		}
		got[e] = true
		checkRoute(t, r, box[r.From], box[r.To], d.Nodes)
	}
	if len(got) != len(want) {
		t.Fatalf("%d routes, %d distinct edges given", len(got), len(want))
	}
	return countCrossings(d.Edges)
}

// checkNoOverlap fails if two boxes share any interior point.
func checkNoOverlap(t *testing.T, boxes []lineage.Box) {
	t.Helper()
	for i, a := range boxes {
		for _, b := range boxes[i+1:] {
			if a.X < b.X+b.W && b.X < a.X+a.W && a.Y < b.Y+b.H && b.Y < a.Y+a.H {
				t.Fatalf("boxes overlap: %+v and %+v", a, b)
			}
		}
	}
}

func checkRoute(t *testing.T, r lineage.Route, from, to lineage.Box, boxes []lineage.Box) {
	t.Helper()
	if from.X+from.W >= to.X {
		t.Fatalf("edge %s → %s does not point right: parent ends at x=%v, child starts at x=%v", r.From, r.To, from.X+from.W, to.X)
	}
	p, q := r.Points[0], r.Points[len(r.Points)-1]
	if p.X != from.X+from.W || p.Y < from.Y || p.Y > from.Y+from.H {
		t.Fatalf("edge %s → %s starts at %v, not on the parent's right side %+v", r.From, r.To, p, from)
	}
	if q.X != to.X || q.Y < to.Y || q.Y > to.Y+to.H {
		t.Fatalf("edge %s → %s ends at %v, not on the child's left side %+v", r.From, r.To, q, to)
	}
	for i := 1; i < len(r.Points); i++ {
		a, b := r.Points[i-1], r.Points[i]
		if b.X < a.X {
			t.Fatalf("edge %s → %s turns back: %v then %v", r.From, r.To, a, b)
		}
		for _, x := range boxes {
			if x.ID != r.From && x.ID != r.To && segmentHitsBox(a, b, x) {
				t.Fatalf("edge %s → %s passes through node %s: segment %v–%v, box %+v", r.From, r.To, x.ID, a, b, x)
			}
		}
	}
}

// segmentHitsBox reports whether the segment a–b meets the box's interior
// (Liang–Barsky clipping).
func segmentHitsBox(a, b lineage.Point, x lineage.Box) bool {
	t0, t1 := 0.0, 1.0
	dx, dy := b.X-a.X, b.Y-a.Y
	for _, c := range [][2]float64{{-dx, a.X - x.X}, {dx, x.X + x.W - a.X}, {-dy, a.Y - x.Y}, {dy, x.Y + x.H - a.Y}} {
		p, q := c[0], c[1]
		if p == 0 {
			if q <= 0 {
				return false
			}
			continue
		}
		r := q / p
		if p < 0 {
			t0 = max(t0, r)
		} else {
			t1 = min(t1, r)
		}
	}
	return t1-t0 > 1e-9
}

// countCrossings counts the pairs of routes whose segments cross properly
// (an end shared, as at a node's port, is no crossing).
func countCrossings(routes []lineage.Route) int {
	type seg struct {
		a, b  lineage.Point
		route int
	}
	var segs []seg
	for i, r := range routes {
		for j := 1; j < len(r.Points); j++ {
			segs = append(segs, seg{r.Points[j-1], r.Points[j], i})
		}
	}
	orient := func(p, q, r lineage.Point) float64 {
		return (q.X-p.X)*(r.Y-p.Y) - (q.Y-p.Y)*(r.X-p.X)
	}
	n := 0
	for i, s := range segs {
		for _, u := range segs[i+1:] {
			if s.route == u.route || max(s.a.X, u.a.X) >= min(s.b.X, u.b.X) {
				continue
			}
			if orient(s.a, s.b, u.a)*orient(s.a, s.b, u.b) < 0 && orient(u.a, u.b, s.a)*orient(u.a, u.b, s.b) < 0 {
				n++
			}
		}
	}
	return n
}
