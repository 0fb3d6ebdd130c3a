package lineage_test

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"os"
	"strings"
	"time"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/lineage"
)

// A base, two labs' deltas on it and the hub's merge of them: the merge's
// parents are its base and its inputs.
func ExampleLayout() {
	box := func(id string) lineage.Node { return lineage.Node{ID: id, Width: 100, Height: 30} }
	nodes := []lineage.Node{box("base"), box("lab-a"), box("lab-b"), box("merge")}
	edges := []lineage.Edge{
		{From: "base", To: "lab-a"}, {From: "base", To: "lab-b"},
		{From: "base", To: "merge"}, {From: "lab-a", To: "merge"}, {From: "lab-b", To: "merge"},
	}
	d, err := lineage.Layout(nodes, edges, lineage.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, b := range d.Nodes {
		fmt.Printf("%-5s layer %d, x %3.0f, y %3.0f\n", b.ID, b.Layer, b.X, b.Y)
	}
	for _, r := range d.Edges {
		fmt.Printf("%s → %s through %d points\n", r.From, r.To, len(r.Points))
	}
	fmt.Printf("%.0f×%.0f, %d crossings\n", d.Width, d.Height, d.Crossings)
	// Output:
	// base  layer 0, x   0, y  21
	// lab-a layer 1, x 164, y   0
	// lab-b layer 1, x 164, y  42
	// merge layer 2, x 328, y  21
	// base → lab-a through 2 points
	// base → lab-b through 2 points
	// base → merge through 4 points
	// lab-a → merge through 2 points
	// lab-b → merge through 2 points
	// 428×72, 0 crossings
}

// A graph with a cycle cannot be drawn left to right; the error names the
// cycle, from the node given first.
func ExampleLayout_cycle() {
	nodes := []lineage.Node{{ID: "base"}, {ID: "a"}, {ID: "b"}}
	edges := []lineage.Edge{{From: "base", To: "a"}, {From: "a", To: "b"}, {From: "b", To: "a"}}
	_, err := lineage.Layout(nodes, edges, lineage.Options{})
	fmt.Println(errors.Is(err, lineage.ErrCycle))
	fmt.Println(err)
	// Output:
	// true
	// layout: graph has a cycle through "a": "a" → "b" → "a"
}

// A page that shows a lineage puts the SVG in as it is: WriteSVG escapes
// every label, so its output may be marked as trusted HTML.
func ExampleWriteSVG() {
	day := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	l := potluck.Lineage{Root: "bafy-delta", Nodes: []potluck.LineageNode{
		{CID: "bafy-base", Kind: potluck.KindBase, Publisher: "upstream", Created: day},
		{CID: "bafy-delta", Kind: potluck.KindDelta, Publisher: "<script>", Created: day,
			Parents: []string{"bafy-base"},
			Best:    []potluck.Score{{Task: "mnist", Metric: "accuracy", Value: 0.931, Org: "lab-a"}}},
	}}
	var svg bytes.Buffer
	if err := lineage.WriteSVG(&svg, l, lineage.SVGOptions{}); err != nil {
		fmt.Println(err)
		return
	}
	page := template.Must(template.New("page").Parse(`<h1>Lineage of {{.Root}}</h1>{{.SVG}}`))
	var out strings.Builder
	_ = page.Execute(&out, struct {
		Root string
		SVG  template.HTML
	}{l.Root, template.HTML(svg.String())})
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.Contains(line, `id="node-bafy-delta"`) || strings.Contains(line, "&lt;script&gt;") {
			fmt.Fprintln(os.Stdout, line)
		}
	}
	// Output:
	// <a href="/releases/bafy-delta" id="node-bafy-delta" class="node kind-delta root" data-n="1"><title>bafy-delta&#xA;delta by &lt;script&gt;, 2026-12-06 00:00 UTC&#xA;the release this lineage is about&#xA;best attested scores:&#xA;mnist/accuracy 0.931 (lab-a)</title><rect x="280" y="50" width="200" height="46" rx="6"/><text x="288" y="70">&lt;script&gt; · 2026-12-06</text><text class="cid" x="288" y="85">bafy-delta</text></a>
}
