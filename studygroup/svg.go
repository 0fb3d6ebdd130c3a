package studygroup

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// palette colours lab k (the Tableau 10 colours).
var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf", "#7f7f7f"}

// Plot geometry, in SVG user units.
const (
	svgW, svgH     = 980, 490
	panelW, panelH = 400, 300
	panelTop       = 60
	panelLeft      = 70
	panelGap       = 90
)

// WriteSVG draws the result as two line charts of accuracy per round. Left,
// on the full test set: the merge (the base at round 0), the centralised
// reference, each lab's fine-tune of the round and each lab alone. Right,
// on each lab's held-out split: the lab's fine-tune and the merge.
func (r *Result) WriteSVG(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", svgW, svgH, svgW, svgH)
	b.WriteString(`<rect width="100%" height="100%" fill="white"/>` + "\n")
	o := r.Options
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="16" font-weight="bold">Study group: %d labs, %d rounds, merge %s, poison %s</text>`+"\n",
		panelLeft, o.Labs, o.Rounds, xmlEscape(o.MergeName), xmlEscape(poisonName(o)))

	test, held := r.series()
	lo := 1.0
	for _, s := range append(test, held...) {
		for _, p := range s.points {
			lo = min(lo, p.y)
		}
	}
	lo = math.Max(0, math.Floor(lo*10)/10)
	left := chart{x0: panelLeft, y0: panelTop, rounds: o.Rounds, lo: lo}
	right := chart{x0: panelLeft + panelW + panelGap, y0: panelTop, rounds: o.Rounds, lo: lo}
	left.draw(&b, "Accuracy on the full test set", test)
	right.draw(&b, "Accuracy on each lab's own held-out split", held)
	L := o.Labs
	legend(&b, [][]series{test[:2], test[2 : 2+L], test[2+L:], held[L:]})
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

type point struct {
	round int
	y     float64
}

type series struct {
	name   string
	color  string
	width  float64
	dash   string
	points []point
}

// series returns the lines of the two charts.
func (r *Result) series() (test, held []series) {
	L := r.Options.Labs
	merge := series{name: "merge", color: "black", width: 3, points: []point{{0, r.Base.Test}}}
	ref := series{name: "centralised reference", color: "#555", width: 2, dash: "8 4", points: []point{{0, r.Base.Test}}}
	labs := make([]series, L)
	solo := make([]series, L)
	ownLab := make([]series, L)
	ownMerge := make([]series, L)
	for k := range L {
		c := palette[k%len(palette)]
		labs[k] = series{name: fmt.Sprintf("lab%d's fine-tune", k), color: c, width: 1.5, points: []point{{0, r.Base.Test}}}
		solo[k] = series{name: fmt.Sprintf("lab%d alone", k), color: c, width: 1.5, dash: "2 3", points: []point{{0, r.Base.Test}}}
		ownLab[k] = series{name: fmt.Sprintf("lab%d's fine-tune", k), color: c, width: 1.5, points: []point{{0, r.Base.HeldOut[k]}}}
		ownMerge[k] = series{name: fmt.Sprintf("merge on lab%d's split", k), color: c, width: 3, dash: "6 3", points: []point{{0, r.Base.HeldOut[k]}}}
	}
	for _, rd := range r.Rounds {
		merge.points = append(merge.points, point{rd.Round, rd.Merge.Test})
		ref.points = append(ref.points, point{rd.Round, rd.Reference.Test})
		for k := range L {
			labs[k].points = append(labs[k].points, point{rd.Round, rd.Labs[k].Test})
			solo[k].points = append(solo[k].points, point{rd.Round, rd.Solo[k].Test})
			ownLab[k].points = append(ownLab[k].points, point{rd.Round, rd.Labs[k].HeldOut[k]})
			ownMerge[k].points = append(ownMerge[k].points, point{rd.Round, rd.Merge.HeldOut[k]})
		}
	}
	test = append(append([]series{merge, ref}, labs...), solo...)
	return test, append(ownLab, ownMerge...)
}

// chart is one panel: rounds 0..rounds across, accuracy lo..1 up.
type chart struct {
	x0, y0 float64
	rounds int
	lo     float64
}

func (c chart) x(round int) float64 { return c.x0 + panelW*float64(round)/float64(max(c.rounds, 1)) }
func (c chart) y(v float64) float64 { return c.y0 + panelH*(1-(v-c.lo)/(1-c.lo)) }

func (c chart) draw(b *strings.Builder, title string, lines []series) {
	fmt.Fprintf(b, `<text x="%g" y="%g" font-size="14">%s</text>`+"\n", c.x0, c.y0-12, xmlEscape(title))
	for t := c.lo; t <= 1.0001; t += 0.1 {
		y := c.y(t)
		fmt.Fprintf(b, `<line x1="%g" y1="%.1f" x2="%g" y2="%.1f" stroke="#ddd"/>`+"\n", c.x0, y, c.x0+panelW, y)
		fmt.Fprintf(b, `<text x="%g" y="%.1f" text-anchor="end" dominant-baseline="middle">%.0f%%</text>`+"\n", c.x0-6, y, 100*t)
	}
	for r := 0; r <= c.rounds; r++ {
		x := c.x(r)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%g" x2="%.1f" y2="%g" stroke="#333"/>`+"\n", x, c.y0+panelH, x, c.y0+panelH+5)
		fmt.Fprintf(b, `<text x="%.1f" y="%g" text-anchor="middle">%d</text>`+"\n", x, c.y0+panelH+18, r)
	}
	fmt.Fprintf(b, `<rect x="%g" y="%g" width="%d" height="%d" fill="none" stroke="#333"/>`+"\n", c.x0, c.y0, panelW, panelH)
	fmt.Fprintf(b, `<text x="%g" y="%g" text-anchor="middle">round (0: the base)</text>`+"\n", c.x0+panelW/2, c.y0+panelH+36)
	fmt.Fprintf(b, `<text transform="translate(%g %g) rotate(-90)" text-anchor="middle">accuracy</text>`+"\n", c.x0-48, c.y0+panelH/2)
	for _, s := range lines {
		var pts []string
		for _, p := range s.points {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", c.x(p.round), c.y(p.y)))
		}
		fmt.Fprintf(b, `<polyline fill="none" stroke="%s" stroke-width="%g"%s points="%s"><title>%s</title></polyline>`+"\n",
			s.color, s.width, dashAttr(s.dash), strings.Join(pts, " "), xmlEscape(s.name))
		for _, p := range s.points {
			fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="%g" fill="%s"><title>%s, round %d: %.1f%%</title></circle>`+"\n",
				c.x(p.round), c.y(p.y), 1+s.width/2, s.color, xmlEscape(s.name), p.round, 100*p.y)
		}
	}
}

// legend lists the lines under the charts, each group on rows of its own.
func legend(b *strings.Builder, groups [][]series) {
	const cols, colW, rowH = 4, 225, 18
	y := float64(panelTop+panelH+60) - rowH
	for _, g := range groups {
		for i, s := range g {
			if i%cols == 0 {
				y += rowH
			}
			x := float64(panelLeft + (i%cols)*colW)
			legendEntry(b, s, x, y)
		}
	}
}

func legendEntry(b *strings.Builder, s series, x, y float64) {
	fmt.Fprintf(b, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="%s" stroke-width="%g"%s/>`+"\n", x, y, x+30, y, s.color, s.width, dashAttr(s.dash))
	fmt.Fprintf(b, `<text x="%g" y="%g" dominant-baseline="middle">%s</text>`+"\n", x+36, y, xmlEscape(s.name))
}

func dashAttr(d string) string {
	if d == "" {
		return ""
	}
	return fmt.Sprintf(` stroke-dasharray="%s"`, d)
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
