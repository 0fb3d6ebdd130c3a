package lineage_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/lineage"
)

// element is an SVG element as encoding/xml reads it back: its name,
// attributes, the text directly inside it and its children.
type element struct {
	name     string
	attr     map[string]string
	text     string
	children []*element
}

// parseSVG reads the SVG back with encoding/xml, failing the test if it is
// not well-formed XML.
func parseSVG(t *testing.T, b []byte) *element {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	root := &element{}
	stack := []*element{root}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the SVG is not well-formed XML: %v", err)
		}
		top := stack[len(stack)-1]
		switch tok := tok.(type) {
		case xml.StartElement:
			e := &element{name: tok.Name.Local, attr: map[string]string{}}
			for _, a := range tok.Attr {
				e.attr[a.Name.Local] = a.Value
			}
			top.children = append(top.children, e)
			stack = append(stack, e)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			top.text += string(tok)
		}
	}
	return root
}

// walk calls f on e and every element below it.
func (e *element) walk(f func(*element)) {
	f(e)
	for _, c := range e.children {
		c.walk(f)
	}
}

// child is e's first child named name.
func (e *element) child(name string) *element {
	for _, c := range e.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

// checkSafe fails if the SVG holds anything a strict CSP would block or a
// browser would run: a script or style element, a style attribute, an
// event handler, a link that does not go to a release page.
func checkSafe(t *testing.T, svg *element) {
	t.Helper()
	svg.walk(func(e *element) {
		if e.name == "script" || e.name == "style" || e.name == "foreignObject" {
			t.Errorf("the SVG has a <%s> element", e.name)
		}
		for k, v := range e.attr {
			if k == "style" || strings.HasPrefix(strings.ToLower(k), "on") {
				t.Errorf("<%s> has attribute %s=%q", e.name, k, v)
			}
			if k == "href" && !strings.HasPrefix(v, "/releases/") {
				t.Errorf("<%s> links to %q", e.name, v)
			}
		}
	})
}

// drawnEdges reads the edges back: the releases by their data-n, then
// each path of g.edges, whose data-edges lists "p>c" for every subpath of
// its d. It counts each edge parent → child drawn and notes those drawn
// dashed.
func drawnEdges(t *testing.T, svg *element) (count map[[2]string]int, dashed map[[2]string]bool) {
	t.Helper()
	cids := map[string]string{}
	var group *element
	svg.walk(func(e *element) {
		if e.name == "a" && strings.HasPrefix(e.attr["id"], "node-") {
			cids[e.attr["data-n"]] = strings.TrimPrefix(e.attr["id"], "node-")
		}
		if e.name == "g" && e.attr["class"] == "edges" {
			group = e
		}
	})
	if group == nil {
		t.Fatal("no g.edges")
	}
	count, dashed = map[[2]string]int{}, map[[2]string]bool{}
	for _, p := range group.children {
		pairs := strings.Fields(p.attr["data-edges"])
		if m := strings.Count(p.attr["d"], "M"); m != len(pairs) {
			t.Errorf("a path lists %d edges and draws %d", len(pairs), m)
		}
		for _, pair := range pairs {
			from, to, ok := strings.Cut(pair, ">")
			k := [2]string{cids[from], cids[to]}
			if !ok || k[0] == "" || k[1] == "" {
				t.Errorf("edge %q: not two releases' data-n", pair)
				continue
			}
			count[k]++
			dashed[k] = p.attr["stroke-dasharray"] != ""
		}
	}
	return count, dashed
}

func TestSVGHostileLabels(t *testing.T) {
	hostile := `<script>alert("x")</script>`
	cid := `bafy"><script>alert(1)</script>&amp;`
	l := potluck.Lineage{Root: "base", Nodes: []potluck.LineageNode{
		{CID: "base", Kind: potluck.KindBase, Publisher: "upstream"},
		{CID: cid, Kind: potluck.KindDelta, Publisher: "<script>", Parents: []string{"base"},
			Created: time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC),
			Best:    []potluck.Score{{Task: "</title><script>", Metric: "acc", Value: 0.5, Org: hostile}}},
		{CID: "m", Kind: potluck.Kind(hostile), Publisher: "a\x00b\x1bc", Parents: []string{"base", cid}},
	}}
	var buf bytes.Buffer
	if err := lineage.WriteSVG(&buf, l, lineage.SVGOptions{}); err != nil {
		t.Fatal(err)
	}
	svg := parseSVG(t, buf.Bytes())
	checkSafe(t, svg)
	var node *element
	svg.walk(func(e *element) {
		if e.attr["id"] == "node-"+cid {
			node = e
		}
	})
	if node == nil {
		t.Fatalf("no element with id %q in\n%s", "node-"+cid, buf.Bytes())
	}
	if want := "/releases/" + url.PathEscape(cid); node.attr["href"] != want {
		t.Errorf("link %q, want %q", node.attr["href"], want)
	}
	if got := node.child("text").text; got != "<script> · 2026-12-06" {
		t.Errorf("label %q, want the publisher as text", got)
	}
	title := node.child("title").text
	for _, want := range []string{cid, "delta by <script>", "</title><script>/acc 0.5 (" + hostile + ")"} {
		if !strings.Contains(title, want) {
			t.Errorf("title %q does not hold %q", title, want)
		}
	}
	if edges, _ := drawnEdges(t, svg); edges[[2]string{"base", cid}] != 1 {
		t.Errorf("edges %v, want one base → %q", edges, cid)
	}
}

// The drawing of a study group has every release once, with its link,
// class and title, every edge between two of them once, and all of it
// inside the view box.
func TestSVGStudyGroup(t *testing.T) {
	l := studyGroup(500, 11)
	var buf bytes.Buffer
	if err := lineage.WriteSVG(&buf, l, lineage.SVGOptions{}); err != nil {
		t.Fatal(err)
	}
	svg := parseSVG(t, buf.Bytes()).child("svg")
	checkSafe(t, svg)
	box := strings.Fields(svg.attr["viewBox"])
	width, _ := strconv.ParseFloat(box[2], 64)
	height, _ := strconv.ParseFloat(box[3], 64)
	nodes := map[string]*element{}
	edges, dashed := drawnEdges(t, svg)
	svg.walk(func(e *element) {
		switch {
		case strings.HasPrefix(e.attr["id"], "node-"):
			id := strings.TrimPrefix(e.attr["id"], "node-")
			if nodes[id] != nil {
				t.Errorf("node %s drawn twice", id)
			}
			nodes[id] = e
		case e.name == "rect":
			x, _ := strconv.ParseFloat(e.attr["x"], 64)
			y, _ := strconv.ParseFloat(e.attr["y"], 64)
			w, _ := strconv.ParseFloat(e.attr["width"], 64)
			h, _ := strconv.ParseFloat(e.attr["height"], 64)
			if x < 0 || y < 0 || x+w > width || y+h > height {
				t.Errorf("rect at %v,%v %v×%v outside the view box %v×%v", x, y, w, h, width, height)
			}
		}
	})
	if len(nodes) != len(l.Nodes) {
		t.Errorf("%d nodes drawn, %d in the lineage", len(nodes), len(l.Nodes))
	}
	want := 0
	yanked := map[string]bool{}
	for _, n := range l.Nodes {
		yanked[n.CID] = n.Yanked
	}
	for _, n := range l.Nodes {
		e := nodes[n.CID]
		if e == nil {
			t.Fatalf("release %s not drawn", n.CID)
		}
		checkNode(t, n, l.Root, e)
		for _, p := range n.Parents {
			want++
			k := [2]string{p, n.CID}
			if edges[k] != 1 {
				t.Errorf("edge %s → %s drawn %d times", p, n.CID, edges[k])
			}
			if dashed[k] != (yanked[p] || n.Yanked) {
				t.Errorf("edge %s → %s dashed %v, its ends yanked %v and %v", p, n.CID, dashed[k], yanked[p], n.Yanked)
			}
		}
	}
	if len(edges) != want {
		t.Errorf("%d edges drawn, %d in the lineage", len(edges), want)
	}
	t.Logf("500 releases: %d bytes of SVG, %s×%s", buf.Len(), box[2], box[3])
}

// checkNode checks one release's link, classes, strike-through and title.
func checkNode(t *testing.T, n potluck.LineageNode, root string, e *element) {
	t.Helper()
	class := " " + e.attr["class"] + " "
	if e.name != "a" || e.attr["href"] != "/releases/"+n.CID || !strings.Contains(class, " kind-"+string(n.Kind)+" ") {
		t.Errorf("release %s: <%s href=%q class=%q>", n.CID, e.name, e.attr["href"], e.attr["class"])
	}
	if got := strings.Contains(class, " yanked ") && e.child("line") != nil; got != n.Yanked {
		t.Errorf("release %s yanked %v, drawn yanked %v", n.CID, n.Yanked, got)
	}
	if strings.Contains(class, " root ") != (n.CID == root) {
		t.Errorf("release %s: class %q, root %s", n.CID, class, root)
	}
	title := e.child("title").text
	for _, s := range n.Best {
		want := s.Task + "/" + s.Metric + " " + strconv.FormatFloat(s.Value, 'g', 4, 64) + " (" + s.Org + ")"
		if !strings.Contains(title, want) {
			t.Errorf("release %s: title %q lacks %q", n.CID, title, want)
		}
	}
}

func TestSVGDeterministic(t *testing.T) {
	l := studyGroup(200, 5)
	var a, b bytes.Buffer
	if err := lineage.WriteSVG(&a, l, lineage.SVGOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := lineage.WriteSVG(&b, l, lineage.SVGOptions{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("the same lineage drawn twice gives two SVGs")
	}
}

// A parent outside the lineage is counted in the title and not drawn; a
// cycle is an error and nothing is written.
func TestSVGParentsOutsideAndCycles(t *testing.T) {
	l := potluck.Lineage{Root: "a", Nodes: []potluck.LineageNode{
		{CID: "a", Kind: potluck.KindDelta, Publisher: "lab-a", Parents: []string{"elsewhere"}},
		{CID: "m", Kind: potluck.KindMerge, Publisher: "hub", Parents: []string{"a", "x", "y"}},
	}}
	var buf bytes.Buffer
	if err := lineage.WriteSVG(&buf, l, lineage.SVGOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1 parent not in this lineage", "2 parents not in this lineage", `data-edges="0>1"`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("the SVG lacks %q", want)
		}
	}
	if edges, _ := drawnEdges(t, parseSVG(t, buf.Bytes())); len(edges) != 1 {
		t.Errorf("edges %v, want one drawn", edges)
	}
	l.Nodes[0].Parents = []string{"m"}
	buf.Reset()
	err := lineage.WriteSVG(&buf, l, lineage.SVGOptions{})
	if !errors.Is(err, lineage.ErrCycle) || buf.Len() > 0 {
		t.Fatalf("a cycle gave error %v and %d bytes", err, buf.Len())
	}
}
