package hub

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	cid "github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"

	"github.com/potluck-hub/potluck"
)

func testCID(tb testing.TB, s string) string {
	tb.Helper()
	sum, err := mh.Sum([]byte(s), mh.SHA2_256, -1)
	if err != nil {
		tb.Fatal(err)
	}
	return cid.NewCidV1(cid.DagProtobuf, sum).String()
}

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// studyGroup makes n releases: a base, eight deltas on it, a merge of
// them, eight deltas on the merge, and so on (a new base where the count
// reaches a thousand), each created a second after the one before.
func studyGroup(tb testing.TB, n int) []*potluck.Release {
	var out []*potluck.Release
	add := func(kind potluck.Kind, base string, inputs ...string) string {
		r := &potluck.Release{CID: testCID(tb, fmt.Sprint(len(out))), Kind: kind, Base: base, Publisher: fmt.Sprint("lab-", len(out)%7),
			Created: epoch.Add(time.Duration(len(out)) * time.Second), Inputs: inputs}
		out = append(out, r)
		return r.CID
	}
	for len(out) < n {
		on := add(potluck.KindBase, "")
		for len(out) < n && len(out)%1000 != 0 {
			var ds []string
			for range 8 {
				ds = append(ds, add(potluck.KindDelta, on))
			}
			on = add(potluck.KindMerge, on, ds...)
		}
	}
	return out[:n]
}

// The graph built from the records on open is the one kept by each write.
func TestGraphRebuiltOnOpen(t *testing.T) {
	dir := t.TempDir()
	rs, err := openReleases(dir)
	if err != nil {
		t.Fatal(err)
	}
	all := studyGroup(t, 60)
	for _, r := range all {
		if _, err := rs.put(r); err != nil {
			t.Fatal(err)
		}
	}
	y := *all[5]
	y.Yank = &potluck.Yank{Org: "lab-1", Reason: "r"}
	if err := rs.replace(&y); err != nil {
		t.Fatal(err)
	}
	if err := rs.remove(all[59].CID); err != nil {
		t.Fatal(err)
	}
	again, err := openReleases(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []*graph{rs.g, again.g} {
		page, more := g.page(pageQuery{size: 1000})
		if len(page) != 58 || more || slices.Contains(page, all[5].CID) {
			t.Errorf("listing: %d releases (more %v), the yanked one in it: %v", len(page), more, slices.Contains(page, all[5].CID))
		}
		if ch := g.childrenOf(all[0].CID); len(ch) != 9 || ch[8] != all[9].CID {
			t.Errorf("children of the base: %v", ch)
		}
		if d := g.descendants(all[1].CID); len(d) != 50 || d[0] != all[9].CID {
			t.Errorf("descendants of the first delta: %d, first %v", len(d), d[:1])
		}
		if a := g.ancestors(all[58].CID); len(a) != 55 || a[0] != all[0].CID {
			t.Errorf("ancestors of the last release: %d", len(a))
		}
		if _, ok := g.lineage(all[59].CID); ok {
			t.Error("the removed release has a lineage")
		}
	}
}

// A crash between logging a yank and recording it: the next start
// applies the logged yank.
func TestReconcileLoggedYank(t *testing.T) {
	dir := t.TempDir()
	members := filepath.Join(dir, "members.yaml")
	if err := os.WriteFile(members, []byte("orgs:\n  - name: lab-a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := Options{DataDir: filepath.Join(dir, "data"), MembersFile: members, Plaintext: true}
	h, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	c := testCID(t, "base")
	if _, err := h.releases.put(&potluck.Release{CID: c, Kind: potluck.KindBase, Publisher: "lab-a", Created: epoch}); err != nil {
		t.Fatal(err)
	}
	when := epoch.Add(time.Hour)
	_, rec, err := h.appendEntry(&potluck.YankEntry{EntryHeader: potluck.EntryHeader{Time: when}, Release: c, Org: "lab-a", Reason: "leaked data"})
	if err != nil {
		t.Fatal(err)
	}
	// And a yank of a release unpinned since: nothing to apply.
	if _, _, err := h.appendEntry(&potluck.YankEntry{EntryHeader: potluck.EntryHeader{Time: when}, Release: testCID(t, "gone"), Org: "lab-a", Reason: "r"}); err != nil {
		t.Fatal(err)
	}
	h.Close()
	if h, err = Open(opts); err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	r, err := h.Release(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	want := potluck.Yank{Time: when, Org: "lab-a", Reason: "leaked data", LogIndex: rec.Index}
	if r.Yank == nil || *r.Yank != want {
		t.Errorf("the record after a restart: yank %+v, want %+v", r.Yank, want)
	}
	if p, err := h.ListReleases(context.Background(), ListQuery{}); err != nil || len(p.Releases) != 0 {
		t.Errorf("listing after the yank was applied: %v, %v", p, err)
	}
	if b, _ := os.ReadFile(filepath.Join(opts.DataDir, "yanks-checked")); string(b) != fmt.Sprintln(h.log.Size()) {
		t.Errorf("yanks-checked holds %q; the log has %d entries", b, h.log.Size())
	}
}

// The graph's costs at 10,000 releases: each call costs its answer, not a
// scan of the records.
func BenchmarkGraph(b *testing.B) {
	g := newGraph()
	all := studyGroup(b, 10000)
	for _, r := range all {
		g.set(r)
	}
	mid := all[5000].CID
	b.Run("Children", func(b *testing.B) {
		for b.Loop() {
			g.childrenOf(mid)
		}
	})
	b.Run("Lineage", func(b *testing.B) {
		var n []relNode
		for b.Loop() {
			n, _ = g.lineage(mid)
		}
		b.ReportMetric(float64(len(n)), "nodes")
	})
	b.Run("PageByOrg", func(b *testing.B) {
		for b.Loop() {
			g.page(pageQuery{org: "lab-3", size: DefaultPageSize, after: &cursor{created: epoch.Add(4000 * time.Second)}})
		}
	})
	b.Run("Set", func(b *testing.B) {
		r := *all[9999]
		for b.Loop() {
			g.set(&r)
		}
	})
}
