package lineage_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/lineage"
)

// studyGroup makes a lineage of n releases shaped like a consortium's study
// groups: a few bases, each with its labs; each round every lab (most of
// the time) publishes a delta on the group's latest merge (now and then on
// an older one), and the hub merges the round's deltas, some rounds with a
// straggler from an earlier round; a few deltas are yanked, a few bases
// stand alone, and one group has 20 labs. Nodes are in creation order.
func studyGroup(n int, seed uint64) potluck.Lineage {
	r := rand.New(rand.NewPCG(seed, 1))
	var l potluck.Lineage
	when := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	add := func(kind potluck.Kind, org string, parents ...string) string {
		node := potluck.LineageNode{
			CID: fakeCID(seed, len(l.Nodes)), Kind: kind, Publisher: org,
			Created: when, Parents: parents,
			Yanked: kind == potluck.KindDelta && r.IntN(25) == 0,
		}
		when = when.Add(time.Duration(1+r.IntN(20)) * time.Hour)
		for t := range r.IntN(3) {
			node.Best = append(node.Best, potluck.Score{
				Task: []string{"mnist", "mmlu", "lab-c/contracts-qa"}[t], Metric: "accuracy",
				Value: 0.5 + r.Float64()/2, Org: fmt.Sprintf("lab-%c", 'a'+r.IntN(6)),
			})
		}
		l.Nodes = append(l.Nodes, node)
		return node.CID
	}
	type group struct {
		labs  int
		heads []string // the base, then each round's merge
		spare []string // deltas no merge took yet
	}
	var groups []*group
	for len(l.Nodes) < n {
		if len(groups) == 0 || (len(groups) < 1+n/150 && r.IntN(12) == 0) {
			labs := 3 + r.IntN(6)
			if len(groups) == 1 {
				labs = 20
			}
			groups = append(groups, &group{labs: labs, heads: []string{add(potluck.KindBase, "upstream")}})
			if r.IntN(3) == 0 {
				add(potluck.KindBase, "upstream") // a base no one built on (yet)
			}
			continue
		}
		g := groups[r.IntN(len(groups))]
		head := g.heads[len(g.heads)-1]
		var inputs []string
		for lab := range g.labs {
			if r.IntN(7) == 0 || len(l.Nodes) >= n {
				continue
			}
			on := head
			if r.IntN(10) == 0 {
				on = g.heads[r.IntN(len(g.heads))]
			}
			inputs = append(inputs, add(potluck.KindDelta, fmt.Sprintf("lab-%c", 'a'+lab%26), on))
		}
		if len(g.spare) > 0 && r.IntN(4) == 0 {
			inputs, g.spare = append(inputs, g.spare[0]), g.spare[1:]
		}
		if len(inputs) < 2 || len(l.Nodes) >= n {
			g.spare = append(g.spare, inputs...)
			continue
		}
		g.heads = append(g.heads, add(potluck.KindMerge, "hub", append([]string{head}, inputs...)...))
	}
	l.Nodes = l.Nodes[:n] // parents come before children, so none is lost
	l.Root = l.Nodes[0].CID
	return l
}

// fakeCID looks like a CIDv1 (base32, "bafybei" and 52 letters) and is
// unique per seed and index.
func fakeCID(seed uint64, i int) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%d/%d", seed, i))
	enc := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:])
	return "bafybei" + strings.ToLower(enc[:52])
}

// graphOf gives a lineage's nodes (w×h each) and edges, parents first,
// leaving out parents not in the lineage.
func graphOf(l potluck.Lineage, w, h float64) ([]lineage.Node, []lineage.Edge) {
	in := map[string]bool{}
	var nodes []lineage.Node
	for _, n := range l.Nodes {
		in[n.CID] = true
		nodes = append(nodes, lineage.Node{ID: n.CID, Width: w, Height: h})
	}
	var edges []lineage.Edge
	for _, n := range l.Nodes {
		for _, p := range n.Parents {
			if in[p] {
				edges = append(edges, lineage.Edge{From: p, To: n.CID})
			}
		}
	}
	return nodes, edges
}

// randomDAG has n nodes of varied sizes, each with up to most parents
// among the nodes before it (so a forest if most is 1), given in a
// shuffled order.
func randomDAG(n, most int, seed uint64) ([]lineage.Node, []lineage.Edge) {
	r := rand.New(rand.NewPCG(seed, uint64(most)))
	nodes := make([]lineage.Node, n)
	var edges []lineage.Edge
	for i := range n {
		nodes[i] = lineage.Node{ID: fmt.Sprintf("n%d", i), Width: 20 + float64(r.IntN(40)), Height: 10 + float64(r.IntN(30))}
		for range r.IntN(most + 1) {
			if i > 0 {
				edges = append(edges, lineage.Edge{From: fmt.Sprintf("n%d", r.IntN(i)), To: nodes[i].ID})
			}
		}
	}
	r.Shuffle(n, func(i, j int) { nodes[i], nodes[j] = nodes[j], nodes[i] })
	r.Shuffle(len(edges), func(i, j int) { edges[i], edges[j] = edges[j], edges[i] })
	return nodes, edges
}

// The sizes of lineage a hub's page shows: a study group's first months,
// a year, several years.
var benchSizes = []int{100, 500, 1000}

func BenchmarkLayout(b *testing.B) {
	for _, n := range benchSizes {
		nodes, edges := graphOf(studyGroup(n, 1), 200, 46)
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := lineage.Layout(nodes, edges, lineage.Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSVG lays out and draws; it reports the SVG's size.
func BenchmarkSVG(b *testing.B) {
	for _, n := range benchSizes {
		l := studyGroup(n, 1)
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			var buf bytes.Buffer
			for b.Loop() {
				buf.Reset()
				if err := lineage.WriteSVG(&buf, l, lineage.SVGOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(buf.Len()), "svg-bytes")
		})
	}
}

// longEdges is a lineage with long edges everywhere: rounds of one delta
// on the latest merge and one on the base, merged; the deltas on the base
// sit next to their merge, their edges spanning every round before.
func longEdges(rounds int) ([]lineage.Node, []lineage.Edge) {
	nodes := []lineage.Node{{ID: "base", Width: 200, Height: 46}}
	var edges []lineage.Edge
	head := "base"
	for r := range rounds {
		d, o, m := fmt.Sprintf("d%d", r), fmt.Sprintf("o%d", r), fmt.Sprintf("m%d", r)
		for _, id := range []string{d, o, m} {
			nodes = append(nodes, lineage.Node{ID: id, Width: 200, Height: 46})
		}
		edges = append(edges, lineage.Edge{From: head, To: d}, lineage.Edge{From: "base", To: o},
			lineage.Edge{From: head, To: m}, lineage.Edge{From: d, To: m}, lineage.Edge{From: o, To: m})
		head = m
	}
	return nodes, edges
}

// BenchmarkLayoutLongEdges is the worst shape we know: 3 nodes a round, and
// a new edge across all the rounds before each round, so the dummies grow
// with the square of the rounds (about 90,000 for 300 rounds).
func BenchmarkLayoutLongEdges(b *testing.B) {
	for _, rounds := range []int{100, 300} {
		nodes, edges := longEdges(rounds)
		b.Run(fmt.Sprintf("nodes=%d", len(nodes)), func(b *testing.B) {
			for b.Loop() {
				if _, err := lineage.Layout(nodes, edges, lineage.Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
