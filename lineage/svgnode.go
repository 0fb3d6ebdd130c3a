package lineage

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/potluck-hub/potluck"
)

// kindName is the class suffix a kind of release is drawn with: the
// stylesheet gives each its colours.
func kindName(k potluck.Kind) string {
	switch k {
	case potluck.KindBase, potluck.KindDelta, potluck.KindMerge:
		return string(k)
	}
	return "other"
}

// node draws release i at box b: a link around its title, box, label and
// short CID, and a strike-through if it was yanked. Its colours, and its
// fading if yanked, come from its classes.
func (s *svgWriter) node(i int, n potluck.LineageNode, b Box, root bool, outside int) {
	x, y := b.X+s.ox, b.Y+s.oy
	class := "node kind-" + kindName(n.Kind)
	if root {
		class += " root"
	}
	if n.Yanked {
		class += " yanked"
	}
	fmt.Fprintf(&s.b, `<a href="%s" id="node-%s" class="%s" data-n="%d">`, s.href(n.CID), esc(n.CID), class, i)
	fmt.Fprintf(&s.b, "<title>%s</title>", esc(s.title(n, root, outside)))
	fmt.Fprintf(&s.b, `<rect x="%s" y="%s" width="%s" height="%s" rx="6"/>`, num(x), num(y), num(b.W), num(b.H))
	line1, line2 := y+b.H/2-3, y+b.H/2+12
	fmt.Fprintf(&s.b, `<text x="%s" y="%s">%s</text>`, num(x+8), num(line1), esc(s.label(n, b.W)))
	fmt.Fprintf(&s.b, `<text class="cid" x="%s" y="%s">%s</text>`, num(x+8), num(line2), esc(shortCID(n.CID)))
	if n.Yanked {
		fmt.Fprintf(&s.b, `<line class="strike" x1="%s" y1="%s" x2="%s" y2="%s"/>`,
			num(x+4), num(line1-4), num(x+b.W-4), num(line1-4))
	}
	s.b.WriteString("</a>\n") // one line a release, and no blank text between its parts: a DOM node each
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

// legend draws a swatch for each kind, a yanked release and the root,
// each classed as the releases it stands for.
func (s *svgWriter) legend() {
	s.b.WriteString(`<g class="legend">` + "\n")
	x, y := float64(margin), float64(margin)
	swatch := func(class, text string, yanked bool) {
		fmt.Fprintf(&s.b, `<g class="%s"><rect x="%s" y="%s" width="16" height="14" rx="3"/>`, class, num(x), num(y))
		if yanked {
			fmt.Fprintf(&s.b, `<line class="strike" x1="%s" y1="%s" x2="%s" y2="%s"/>`,
				num(x-2), num(y+7), num(x+18), num(y+7))
		}
		fmt.Fprintf(&s.b, `<text x="%s" y="%s">%s</text></g>`+"\n", num(x+22), num(y+11), text)
		x += 22 + 6.6*float64(len(text)) + 18
	}
	for _, k := range []potluck.Kind{potluck.KindBase, potluck.KindDelta, potluck.KindMerge} {
		swatch("kind-"+kindName(k), kindName(k), false)
	}
	swatch("kind-delta yanked", "yanked", true)
	swatch("root", "this release", false)
	s.b.WriteString("</g>\n")
}
