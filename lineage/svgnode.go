package lineage

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/potluck-hub/potluck"
)

// look is how a kind of release is drawn.
type look struct {
	fill, stroke, name string
}

var looks = map[potluck.Kind]look{
	potluck.KindBase:  {"#dbe7f5", "#3b6ea8", "base"},
	potluck.KindDelta: {"#e2f0d9", "#4a8a3a", "delta"},
	potluck.KindMerge: {"#fde4c8", "#c0701d", "merge"},
}

// lookOf is the kind's look; an unknown kind is grey.
func lookOf(k potluck.Kind) look {
	if l, ok := looks[k]; ok {
		return l
	}
	return look{"#eeeeee", "#888888", "other"}
}

// yankedOpacity fades a yanked release.
const yankedOpacity = "0.45"

// node draws one release at box b: a link around its title, box, label
// and short CID, and a strike-through if it was yanked.
func (s *svgWriter) node(n potluck.LineageNode, b Box, root bool, outside int) {
	lk := lookOf(n.Kind)
	x, y := b.X+s.ox, b.Y+s.oy
	class := "node kind-" + lk.name
	stroke := "1.5"
	if root {
		class, stroke = class+" root", "3"
	}
	if n.Yanked {
		class += " yanked"
	}
	fmt.Fprintf(&s.b, `<a href="%s" id="node-%s" class="%s"`, s.href(n.CID), esc(n.CID), class)
	if n.Yanked {
		s.b.WriteString(` opacity="` + yankedOpacity + `"`)
	}
	fmt.Fprintf(&s.b, ">\n<title>%s</title>\n", esc(s.title(n, root, outside)))
	fmt.Fprintf(&s.b, `<rect x="%s" y="%s" width="%s" height="%s" rx="6" fill="%s" stroke="%s" stroke-width="%s"/>`+"\n",
		num(x), num(y), num(b.W), num(b.H), lk.fill, lk.stroke, stroke)
	line1, line2 := y+b.H/2-3, y+b.H/2+12
	fmt.Fprintf(&s.b, `<text x="%s" y="%s" fill="#1f2328">%s</text>`+"\n", num(x+8), num(line1), esc(s.label(n, b.W)))
	fmt.Fprintf(&s.b, `<text class="cid" x="%s" y="%s" fill="#57606a" font-family="ui-monospace, monospace" font-size="11">%s</text>`+"\n",
		num(x+8), num(line2), esc(shortCID(n.CID)))
	if n.Yanked {
		fmt.Fprintf(&s.b, `<line class="strike" x1="%s" y1="%s" x2="%s" y2="%s" stroke="#b42318" stroke-width="1.5"/>`+"\n",
			num(x+4), num(line1-4), num(x+b.W-4), num(line1-4))
	}
	s.b.WriteString("</a>\n")
}

// label is "org · 2026-12-06", the org cut short to fit a box w wide.
func (s *svgWriter) label(n potluck.LineageNode, w float64) string {
	date := "undated"
	if !n.Created.IsZero() {
		date = n.Created.UTC().Format("2006-01-02")
	}
	room := max(int((w-16)/6.6)-3-len(date), 4) // about 6.6 units a letter at 12
	return cut(n.Publisher, room) + " · " + date
}

// title is a release's hover text, one fact a line.
func (s *svgWriter) title(n potluck.LineageNode, root bool, outside int) string {
	var t strings.Builder
	t.WriteString(n.CID)
	fmt.Fprintf(&t, "\n%s by %s", n.Kind, n.Publisher)
	if !n.Created.IsZero() {
		t.WriteString(", " + n.Created.UTC().Format("2006-01-02 15:04 UTC"))
	}
	if root {
		t.WriteString("\nthe release this lineage is about")
	}
	if n.Yanked {
		t.WriteString("\nyanked (withdrawn)")
	}
	if outside > 0 {
		fmt.Fprintf(&t, "\n%d %s not in this lineage", outside, plural(outside, "parent", "parents"))
	}
	if len(n.Best) > 0 && s.o.MaxScores > 0 {
		t.WriteString("\nbest attested scores:")
		for i, sc := range n.Best {
			if i == s.o.MaxScores {
				fmt.Fprintf(&t, "\n… and %d more", len(n.Best)-i)
				break
			}
			fmt.Fprintf(&t, "\n%s/%s %s (%s)", sc.Task, sc.Metric, strconv.FormatFloat(sc.Value, 'g', 4, 64), sc.Org)
		}
	}
	return t.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// shortCID keeps a CID's first four and last eight characters: the prefix
// says what kind of CID it is, the tail tells releases apart.
func shortCID(c string) string {
	if utf8.RuneCountInString(c) <= 16 {
		return c
	}
	r := []rune(c)
	return string(r[:4]) + "…" + string(r[len(r)-8:])
}

// cut shortens s to at most n letters, marking the cut with "…".
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// esc escapes s for XML text or a quoted attribute; characters XML cannot
// hold become U+FFFD.
func esc(s string) string {
	plain := true // printable ASCII with nothing to escape, as CIDs are
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = c >= ' ' && c <= '~' && c != '&' && c != '<' && c != '>' && c != '"' && c != '\''
	}
	if plain {
		return s
	}
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder does not fail
	return b.String()
}

// legendW is the legend's width, the least the picture is wide.
const legendW = 420

// legend draws a swatch for each kind, a yanked release and the root.
func (s *svgWriter) legend() {
	s.b.WriteString(`<g class="legend">` + "\n")
	x, y := float64(margin), float64(margin)
	swatch := func(lk look, width, text string, yanked bool) {
		s.b.WriteString("<g")
		if yanked {
			s.b.WriteString(` opacity="` + yankedOpacity + `"`)
		}
		fmt.Fprintf(&s.b, `><rect x="%s" y="%s" width="16" height="14" rx="3" fill="%s" stroke="%s" stroke-width="%s"/>`,
			num(x), num(y), lk.fill, lk.stroke, width)
		if yanked {
			fmt.Fprintf(&s.b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#b42318" stroke-width="1.5"/>`,
				num(x-2), num(y+7), num(x+18), num(y+7))
		}
		fmt.Fprintf(&s.b, `<text x="%s" y="%s" fill="#1f2328">%s</text></g>`+"\n", num(x+22), num(y+11), text)
		x += 22 + 6.6*float64(len(text)) + 18
	}
	for _, k := range []potluck.Kind{potluck.KindBase, potluck.KindDelta, potluck.KindMerge} {
		lk := lookOf(k)
		swatch(lk, "1.5", lk.name, false)
	}
	swatch(lookOf(potluck.KindDelta), "1.5", "yanked", true)
	swatch(look{"#ffffff", "#1f2328", ""}, "3", "this release", false)
	s.b.WriteString("</g>\n")
}
