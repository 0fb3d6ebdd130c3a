package hub

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/potluck-hub/potluck"
)

// The release graph, in memory: one small node per release (what listing
// and lineage need, never its files or signatures), all of them in
// creation order, and for each CID the releases whose parents include it.
// The release index (release.go) keeps it in step: it is built from the
// records when the hub opens, and updated by every record written or
// removed. Lookups cost the size of their answer (a page, a lineage), never
// a scan of the records on disk.

// relNode is a release as the graph holds it.
type relNode struct {
	cid       string
	kind      potluck.Kind
	base      string
	publisher string
	created   time.Time
	parents   []string // Release.Parents, or a merge's logged inputs (see parentsOf)
	yanked    bool
}

// nodeOf makes r's graph node.
func nodeOf(r *potluck.Release) *relNode {
	return &relNode{cid: r.CID, kind: r.Kind, base: r.Base, publisher: r.Publisher, created: r.Created,
		parents: parentsOf(r), yanked: r.Yank != nil}
}

// parentsOf is r.Parents(). A merge recorded before releases carried
// their Inputs has them in its log entry only: they are taken from there.
func parentsOf(r *potluck.Release) []string {
	if r.Kind != potluck.KindMerge || len(r.Inputs) > 0 || r.Receipt == nil {
		return r.Parents()
	}
	e, err := potluck.ParseEntry(r.Receipt.Entry)
	if re, ok := e.(*potluck.ReleaseEntry); err == nil && ok && re.Release == r.CID {
		c := *r
		c.Inputs = re.Inputs
		return c.Parents()
	}
	return r.Parents()
}

// compare orders nodes as listings do: oldest first, ties by CID.
func (n *relNode) compare(created time.Time, cid string) int {
	return cmp.Or(n.created.Compare(created), strings.Compare(n.cid, cid))
}

// graph is the index itself; its own lock lets reads run beside a write
// to disk.
type graph struct {
	mu       sync.RWMutex
	byCID    map[string]*relNode
	order    []*relNode            // every release, oldest first, ties by CID
	children map[string][]*relNode // parent CID → its children, in the same order
}

func newGraph() *graph {
	return &graph{byCID: map[string]*relNode{}, children: map[string][]*relNode{}}
}

// insert puts n into s, keeping s sorted; new releases go at the end, so
// this is an append but for a record dated in the past.
func insert(s []*relNode, n *relNode) []*relNode {
	i, _ := slices.BinarySearchFunc(s, n, func(a, b *relNode) int { return a.compare(b.created, b.cid) })
	return slices.Insert(s, i, n)
}

func without(s []*relNode, n *relNode) []*relNode {
	i, found := slices.BinarySearchFunc(s, n, func(a, b *relNode) int { return a.compare(b.created, b.cid) })
	if found {
		return slices.Delete(s, i, i+1)
	}
	return s
}

// set adds r, replacing what the graph held for its CID.
func (g *graph) set(r *potluck.Release) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.removeLocked(r.CID)
	n := nodeOf(r)
	g.byCID[n.cid] = n
	g.order = insert(g.order, n)
	for _, p := range n.parents {
		g.children[p] = insert(g.children[p], n)
	}
}

// load indexes the releases of an empty graph, sorting them once.
func (g *graph) load(ns []*relNode) {
	g.mu.Lock()
	defer g.mu.Unlock()
	slices.SortFunc(ns, func(a, b *relNode) int { return a.compare(b.created, b.cid) })
	for _, n := range ns {
		g.byCID[n.cid] = n
		g.order = append(g.order, n)
		for _, p := range n.parents {
			g.children[p] = append(g.children[p], n) // in order, as ns is
		}
	}
}

// remove drops a release; its children, if any, keep their edges to it.
func (g *graph) remove(c string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.removeLocked(c)
}

func (g *graph) removeLocked(c string) {
	n, ok := g.byCID[c]
	if !ok {
		return
	}
	delete(g.byCID, c)
	g.order = without(g.order, n)
	for _, p := range n.parents {
		if g.children[p] = without(g.children[p], n); len(g.children[p]) == 0 {
			delete(g.children, p)
		}
	}
}

// childrenOf lists the releases built directly on c, oldest first.
func (g *graph) childrenOf(c string) []string {
	g.mu.RLock()
	defer g.mu.RUnlock()
	out := make([]string, 0, len(g.children[c]))
	for _, n := range g.children[c] {
		out = append(out, n.cid)
	}
	return out
}

// walk visits, breadth first, every node reached from c through next,
// c left out, and returns them oldest first. The caller holds the lock.
func (g *graph) walk(c string, next func(*relNode) []*relNode) []*relNode {
	seen := map[string]bool{c: true}
	var out []*relNode
	queue := []*relNode{g.byCID[c]}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if n == nil {
			continue
		}
		for _, m := range next(n) {
			if !seen[m.cid] {
				seen[m.cid] = true
				out = append(out, m)
				queue = append(queue, m)
			}
		}
	}
	slices.SortFunc(out, func(a, b *relNode) int { return a.compare(b.created, b.cid) })
	return out
}

func (g *graph) down(n *relNode) []*relNode { return g.children[n.cid] }

func (g *graph) up(n *relNode) []*relNode {
	var out []*relNode
	for _, p := range n.parents {
		if pn, ok := g.byCID[p]; ok {
			out = append(out, pn)
		}
	}
	return out
}

// descendants lists every release built on c, directly or not, oldest
// first.
func (g *graph) descendants(c string) []string {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return cids(g.walk(c, g.down))
}

// ancestors lists every release c was made from, up to the root bases,
// oldest first (only those the hub holds).
func (g *graph) ancestors(c string) []string {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return cids(g.walk(c, g.up))
}

func cids(ns []*relNode) []string {
	out := make([]string, 0, len(ns))
	for _, n := range ns {
		out = append(out, n.cid)
	}
	return out
}

// lineage returns c's ancestors, c and its descendants, oldest first, as
// copies the caller may keep; false if the graph does not hold c.
func (g *graph) lineage(c string) ([]relNode, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	n, ok := g.byCID[c]
	if !ok {
		return nil, false
	}
	all := append(g.walk(c, g.up), g.walk(c, g.down)...)
	all = append(all, n)
	slices.SortFunc(all, func(a, b *relNode) int { return a.compare(b.created, b.cid) })
	out := make([]relNode, len(all))
	for i, m := range all {
		out[i] = *m
	}
	return out, true
}

// pageQuery selects releases for one page of a listing.
type pageQuery struct {
	kind          potluck.Kind
	base, org     string
	includeYanked bool
	size          int
	// after is where the previous page ended: only releases after it, in
	// listing order, are returned.
	after *cursor
}

// cursor is a position in listing order: a release's creation time and CID.
type cursor struct {
	created time.Time
	cid     string
}

func (q *pageQuery) match(n *relNode) bool {
	return (q.kind == "" || n.kind == q.kind) && (q.base == "" || n.base == q.base) &&
		(q.org == "" || n.publisher == q.org) && (q.includeYanked || !n.yanked)
}

// page returns the CIDs of up to q.size releases matching q after q.after,
// and whether more follow. With a base it looks among that base's children
// only.
func (g *graph) page(q pageQuery) (out []string, more bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	s := g.order
	if q.base != "" {
		s = g.children[q.base]
	}
	i := 0
	if q.after != nil {
		i, _ = slices.BinarySearchFunc(s, q.after, func(n *relNode, c *cursor) int { return n.compare(c.created, c.cid) })
		if i < len(s) && s[i].compare(q.after.created, q.after.cid) == 0 {
			i++
		}
	}
	for ; i < len(s); i++ {
		if !q.match(s[i]) {
			continue
		}
		if len(out) == q.size {
			return out, true
		}
		out = append(out, s[i].cid)
	}
	return out, false
}

// filter returns the CIDs of every release of a kind and base ("" for
// any), yanked or not, oldest first.
func (g *graph) filter(kind potluck.Kind, base string) []string {
	out, _ := g.page(pageQuery{kind: kind, base: base, includeYanked: true, size: -1})
	return out
}
