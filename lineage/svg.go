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
// Every string from the lineage is XML-escaped, so the SVG can be served as
// a file (image/svg+xml) or put into a page as it is: with html/template,
// as a template.HTML. Put it in the page itself or in an <object>: in an
// <img> its links do not work. It has no script, no style element and no
// style attribute, only presentation attributes (fill, stroke, opacity),
// so a Content-Security-Policy without 'unsafe-inline' lets it through. It
// needs no stylesheet; a page's own stylesheet can add to it, and wins over
// the presentation attributes, through these classes:
//
//	svg.lineage           the whole picture
//	g.legend              the legend above the drawing
//	g.edges, path.edge    the edges; data-from and data-to hold the CIDs
//	g.nodes               the releases
//	a.node                a release, id "node-" + its CID, also classed
//	                      kind-base, kind-delta, kind-merge or kind-other,
//	                      root (the release the lineage is about), yanked
//	text.cid              the short CID under a release's label
//	line.strike           the line through a yanked release's label
//
// For example: .lineage a.node:hover rect { stroke-width: 3 }. A browser
// test can find release c by id "node-" + c and edge p → c by data-from p
// and data-to c.
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
	width := max(d.Width+2*margin, legendW+2*margin)
	height := d.Height + s.oy + margin
	fmt.Fprintf(&s.b, `<svg xmlns="http://www.w3.org/2000/svg" class="lineage" viewBox="0 0 %s %s" width="%s" height="%s" font-family="system-ui, sans-serif" font-size="12" role="img" aria-label="Lineage of %s">`+"\n",
		num(width), num(height), num(width), num(height), esc(l.Root))
	s.legend()
	s.edges(d, l)
	s.b.WriteString(`<g class="nodes">` + "\n")
	for i, n := range l.Nodes {
		s.node(n, d.Nodes[i], n.CID == l.Root, outside[i])
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

// edges draws every route as a path: straight across a layer, a cubic
// with horizontal ends between layers. An edge to or from a yanked
// release is dashed.
func (s *svgWriter) edges(d *Drawing, l potluck.Lineage) {
	yanked := map[string]bool{}
	for _, n := range l.Nodes {
		yanked[n.CID] = n.Yanked
	}
	s.b.WriteString(`<g class="edges" fill="none" stroke="#8a8f98" stroke-width="1.2">` + "\n")
	for _, r := range d.Edges {
		s.b.WriteString(`<path class="edge" data-from="`)
		s.b.WriteString(esc(r.From))
		s.b.WriteString(`" data-to="`)
		s.b.WriteString(esc(r.To))
		if yanked[r.From] || yanked[r.To] {
			s.b.WriteString(`" stroke-dasharray="4 3`)
		}
		s.b.WriteString(`" d="`)
		s.path(r.Points)
		s.b.WriteString(`"/>` + "\n")
	}
	s.b.WriteString("</g>\n")
}

func (s *svgWriter) path(pts []Point) {
	b := s.b.AvailableBuffer()
	for i, p := range pts {
		x, y := p.X+s.ox, p.Y+s.oy
		switch {
		case i == 0:
			b = appendNum(append(appendNum(append(b, 'M'), x), ' '), y)
		case p.Y == pts[i-1].Y:
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

// num formats a coordinate to a tenth of a unit, the shortest way.
func num(v float64) string {
	return string(appendNum(nil, v))
}

func appendNum(b []byte, v float64) []byte {
	return strconv.AppendFloat(b, math.Round(v*10)/10, 'f', -1, 64)
}

// href is a release's link, escaped for a path and then for an attribute.
func (s *svgWriter) href(cid string) string {
	return esc(s.o.ReleasePath + url.PathEscape(cid))
}
