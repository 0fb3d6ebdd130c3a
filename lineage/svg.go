package lineage

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"net/url"
	"strconv"

	"github.com/potluck-hub/potluck"
)

// SVGOptions tune WriteSVG. The zero value gives the defaults.
type SVGOptions struct {
	Layout                Options
	NodeWidth, NodeHeight float64 // a node's box; 0 means 200×46
	// ReleasePath is what a node's link puts before the release's CID
	// (path-escaped); "" means "/releases/".
	ReleasePath string
	// MaxScores bounds the best scores listed in a node's title; 0 means
	// 8, negative none.
	MaxScores int
}

// Margins of the picture, in SVG user units (pixels at 100%).
const (
	margin  = 16
	legendH = 34
)

// WriteSVG draws the lineage left to right as one <svg> element: each
// release a rounded box coloured by kind, labelled with its publisher, date
// and short CID, struck through and faded if yanked, linked to its page,
// with a <title> (the hover text) holding its full CID, kind, publisher,
// date and best scores; an edge from each parent in the lineage, dashed if
// either end is yanked; a legend on top. Parents outside the lineage are
// counted in the title, not drawn. It writes nothing if the lineage cannot
// be laid out (a cycle, a CID twice).
//
// Every string from the lineage is XML-escaped, so the SVG can be put into
// a page as it is: with html/template, as a template.HTML. Put it in the
// page itself: in an <img> its links do not work. It has no script, no
// style element and no style attribute, so a Content-Security-Policy
// without 'unsafe-inline' lets it through. It is small for its size (a
// study group of 1,000 releases draws in about 620 KB) and cheap for a
// browser to lay out: coordinates are whole units, the edges are two
// paths, a release is one line with no blank text between its parts, and
// what every release shares is said once, by a parent's presentation
// attributes or by the page's stylesheet. The stylesheet
// colours the releases, through these classes (the hub's is
// web/static/site.css; without one the boxes are black):
//
//	svg.lineage           the whole picture
//	g.legend              the legend above the drawing, a swatch each,
//	                      classed as the releases it stands for
//	g.edges               the edges: a path of those between live
//	                      releases, and one classed yanked (dashed) of
//	                      those to or from a yanked release; each path's
//	                      data-edges lists its edges in the order it draws
//	                      them, "p>c" for an edge from the release with
//	                      data-n p to the one with data-n c
//	g.nodes               the releases
//	a.node                a release, id "node-" + its CID, data-n its
//	                      index in the lineage, also classed kind-base,
//	                      kind-delta, kind-merge or kind-other, root (the
//	                      release the lineage is about), yanked
//	text.cid              the short CID under a release's label
//	line.strike           the line through a yanked release's label
//
// A browser test can find release c by id "node-" + c and its edges
// through its data-n.
func WriteSVG(w io.Writer, l potluck.Lineage, o SVGOptions) error {
	o = o.withDefaults()
	nodes := make([]Node, len(l.Nodes))
	known := make(map[string]bool, len(l.Nodes))
	for i, n := range l.Nodes {
		nodes[i] = Node{ID: n.CID, Width: o.NodeWidth, Height: o.NodeHeight}
		known[n.CID] = true
	}
	var edges []Edge
	outside := make([]int, len(l.Nodes)) // parents not in the lineage
	for i, n := range l.Nodes {
		for _, p := range n.Parents {
			if known[p] {
				edges = append(edges, Edge{From: p, To: n.CID})
			} else {
				outside[i]++
			}
		}
	}
	d, err := Layout(nodes, edges, o.Layout)
	if err != nil {
		return fmt.Errorf("lineage of %s: %w", l.Root, err)
	}
	s := &svgWriter{o: o, ox: margin, oy: margin + legendH}
	width := math.Ceil(max(d.Width+2*margin, legendW+2*margin))
	height := math.Ceil(d.Height + s.oy + margin)
	fmt.Fprintf(&s.b, `<svg xmlns="http://www.w3.org/2000/svg" class="lineage" viewBox="0 0 %s %s" width="%s" height="%s" font-family="system-ui, sans-serif" font-size="12" role="img" aria-label="Lineage of %s">`+"\n",
		num(width), num(height), num(width), num(height), esc(l.Root))
	s.legend()
	s.edges(d, l)
	s.b.WriteString(`<g class="nodes">` + "\n")
	for i, n := range l.Nodes {
		s.node(i, n, d.Nodes[i], n.CID == l.Root, outside[i])
	}
	s.b.WriteString("</g>\n</svg>\n")
	_, err = w.Write(s.b.Bytes())
	return err
}

func (o SVGOptions) withDefaults() SVGOptions {
	if o.NodeWidth == 0 {
		o.NodeWidth = 200
	}
	if o.NodeHeight == 0 {
		o.NodeHeight = 46
	}
	if o.ReleasePath == "" {
		o.ReleasePath = "/releases/"
	}
	if o.MaxScores == 0 {
		o.MaxScores = 8
	}
	return o
}

// svgWriter accumulates the picture; (ox, oy) is where the drawing's
// origin lies in it.
type svgWriter struct {
	b      bytes.Buffer
	o      SVGOptions
	ox, oy float64
}

// edges draws every route: straight across a layer, a cubic with
// horizontal ends between layers. The routes to or from a yanked release
// form a path of their own, dashed; the others one path.
func (s *svgWriter) edges(d *Drawing, l potluck.Lineage) {
	index := make(map[string]int, len(l.Nodes))
	yanked := make(map[string]bool, len(l.Nodes))
	for i, n := range l.Nodes {
		index[n.CID] = i
		yanked[n.CID] = n.Yanked
	}
	var live, dead []Route
	for _, r := range d.Edges {
		if yanked[r.From] || yanked[r.To] {
			dead = append(dead, r)
		} else {
			live = append(live, r)
		}
	}
	s.b.WriteString(`<g class="edges" fill="none" stroke="#8a8f98" stroke-width="1.2">` + "\n")
	s.edgePath(live, index, ``)
	s.edgePath(dead, index, ` class="yanked" stroke-dasharray="4 3"`)
	s.b.WriteString("</g>\n")
}

// edgePath draws routes as one path with attrs, listing them in its
// data-edges by the indices of their ends; no routes, no path.
func (s *svgWriter) edgePath(routes []Route, index map[string]int, attrs string) {
	if len(routes) == 0 {
		return
	}
	s.b.WriteString(`<path` + attrs + ` data-edges="`)
	for i, r := range routes {
		b := s.b.AvailableBuffer()
		if i > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendInt(b, int64(index[r.From]), 10)
		b = append(b, '>')
		b = strconv.AppendInt(b, int64(index[r.To]), 10)
		s.b.Write(b)
	}
	s.b.WriteString(`" d="`)
	for _, r := range routes {
		s.path(r.Points)
	}
	s.b.WriteString(`"/>` + "\n")
}

func (s *svgWriter) path(pts []Point) {
	b := s.b.AvailableBuffer()
	for i, p := range pts {
		x, y := p.X+s.ox, p.Y+s.oy
		switch {
		case i == 0:
			b = appendNum(append(appendNum(append(b, 'M'), x), ' '), y)
		case math.Round(p.Y) == math.Round(pts[i-1].Y):
			b = appendNum(append(b, 'H'), x)
		default:
			q := pts[i-1]
			mid := (q.X+p.X)/2 + s.ox
			b = append(b, 'C')
			for j, v := range []float64{mid, q.Y + s.oy, mid, y, x, y} {
				if j > 0 {
					b = append(b, ' ')
				}
				b = appendNum(b, v)
			}
		}
	}
	s.b.Write(b)
}

// num formats a coordinate rounded to a whole unit: a pixel at 100%, finer
// than the eye can tell apart in a drawing this size.
func num(v float64) string {
	return string(appendNum(nil, v))
}

func appendNum(b []byte, v float64) []byte {
	return strconv.AppendInt(b, int64(math.Round(v)), 10)
}

// href is a release's link, escaped for a path and then for an attribute.
func (s *svgWriter) href(cid string) string {
	return esc(s.o.ReleasePath + url.PathEscape(cid))
}
