package hub_test

// The release graph as the hub shows it: children, lineage, listing pages,
// over gRPC and HTTP JSON.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	cid "github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
	"google.golang.org/grpc/codes"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/hub"
	"github.com/potluck-hub/potluck/internal/wire"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
)

// fakeCID is a valid CID named after s, for release records written
// directly (their bytes are never fetched).
func fakeCID(t *testing.T, s string) string {
	t.Helper()
	sum, err := mh.Sum([]byte(s), mh.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	return cid.NewCidV1(cid.DagProtobuf, sum).String()
}

// writeRecords stops the hub, writes release records into its index as
// another part of the hub would have recorded them, and starts it again:
// the graph is rebuilt from the records.
func (hs *harness) writeRecords(rs ...*potluck.Release) {
	t := hs.t
	t.Helper()
	hs.stop()
	for _, r := range rs {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(hs.data, "releases", r.CID+".json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	hs.start()
}

// recordChain is the study group's loop as release records: a base, two deltas
// on it, a merge of them, a delta on the merge and a merge of that; and an
// unrelated base with a delta, which no lineage of the chain includes.
type recordChain struct {
	base, d1, d2, m1, d3, m2, other, otherDelta string
	records                                     []*potluck.Release
}

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func newRecordChain(t *testing.T) recordChain {
	c := recordChain{base: fakeCID(t, "base"), d1: fakeCID(t, "d1"), d2: fakeCID(t, "d2"), m1: fakeCID(t, "m1"),
		d3: fakeCID(t, "d3"), m2: fakeCID(t, "m2"), other: fakeCID(t, "other"), otherDelta: fakeCID(t, "other-delta")}
	rec := func(c string, day int, kind potluck.Kind, org, base string, inputs ...string) *potluck.Release {
		return &potluck.Release{CID: c, Kind: kind, Base: base, Publisher: org, Created: t0.Add(time.Duration(day) * 24 * time.Hour), Inputs: inputs}
	}
	c.records = []*potluck.Release{
		rec(c.base, 0, potluck.KindBase, orgA, ""),
		rec(c.other, 0, potluck.KindBase, orgB, ""),
		rec(c.d1, 1, potluck.KindDelta, orgA, c.base),
		rec(c.d2, 2, potluck.KindDelta, orgB, c.base),
		rec(c.otherDelta, 2, potluck.KindDelta, orgB, c.other),
		rec(c.m1, 3, potluck.KindMerge, hub.HubOrg, c.base, c.d1, c.d2),
		rec(c.d3, 4, potluck.KindDelta, orgB, c.m1),
		rec(c.m2, 5, potluck.KindMerge, hub.HubOrg, c.m1, c.d3),
	}
	return c
}

// lineageShape is a lineage as "CID<-parent,parent" per node, in order.
func lineageShape(l *potluck.Lineage) []string {
	var out []string
	for _, n := range l.Nodes {
		out = append(out, n.CID+"<-"+strings.Join(n.Parents, ","))
	}
	return out
}

func TestLineageOfTheLoop(t *testing.T) {
	hs := newHarness(t)
	c := newRecordChain(t)
	hs.writeRecords(c.records...)
	ctx := context.Background()
	node := func(cid string, parents ...string) string { return cid + "<-" + strings.Join(parents, ",") }
	all := []string{node(c.base), node(c.d1, c.base), node(c.d2, c.base), node(c.m1, c.base, c.d1, c.d2),
		node(c.d3, c.m1), node(c.m2, c.m1, c.d3)}
	for _, tc := range []struct {
		name, cid string
		want      []string
	}{
		// A delta: its base above, the merges built on it and what was
		// built on them below; the other delta of the merge is not its
		// ancestor, so it is left out.
		{"Delta", c.d1, []string{all[0], all[1], all[3], all[4], all[5]}},
		{"Merge", c.m1, all},
		{"RootBase", c.base, all},
		{"DeltaOnMerge", c.d3, []string{all[0], all[1], all[2], all[3], all[4], all[5]}},
		{"UnrelatedBase", c.other, []string{node(c.other), node(c.otherDelta, c.other)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := hs.raw.GetLineage(ctx, &hubv1.GetLineageRequest{Cid: tc.cid})
			if err != nil {
				t.Fatal(err)
			}
			l, err := wire.LineageOf(resp.GetLineage())
			if err != nil {
				t.Fatal(err)
			}
			if l.Root != tc.cid || !slices.Equal(lineageShape(l), tc.want) {
				t.Errorf("lineage of %s (root %s):\n%s\nwant\n%s", tc.cid, l.Root, strings.Join(lineageShape(l), "\n"), strings.Join(tc.want, "\n"))
			}
			srv := httptest.NewServer(hub.HTTPHandler(hs.h))
			defer srv.Close()
			var hl potluck.Lineage
			getJSON(t, srv.URL+"/v1/releases/"+tc.cid+"/lineage", http.StatusOK, &hl)
			if !slices.Equal(lineageShape(&hl), tc.want) {
				t.Errorf("HTTP lineage of %s:\n%s", tc.cid, strings.Join(lineageShape(&hl), "\n"))
			}
		})
	}
	t.Run("Nodes", func(t *testing.T) {
		l, err := hs.client.Lineage(ctx, c.d3)
		if err != nil {
			t.Fatal(err)
		}
		n := l.Nodes[3] // m1
		if n.CID != c.m1 || n.Kind != potluck.KindMerge || n.Publisher != hub.HubOrg || !n.Created.Equal(t0.Add(72*time.Hour)) || n.Yanked || n.Best != nil {
			t.Errorf("node of the merge: %+v", n)
		}
	})
	t.Run("Children", func(t *testing.T) {
		for _, tc := range []struct{ cid, want string }{
			{c.base, strings.Join([]string{c.d1, c.d2, c.m1}, " ")},
			{c.d2, c.m1},
			{c.m1, c.d3 + " " + c.m2},
			{c.m2, ""},
		} {
			d, err := hs.client.Detail(ctx, tc.cid)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(d.Children, " "); got != tc.want || d.Release.CID != tc.cid || d.Attestations == nil {
				t.Errorf("children of %s: %q, want %q (attestations %v)", tc.cid, got, tc.want, d.Attestations)
			}
		}
	})
	t.Run("UnknownRelease", func(t *testing.T) {
		missing := fakeCID(t, "missing")
		_, err := hs.raw.GetLineage(ctx, &hubv1.GetLineageRequest{Cid: missing})
		if st := grpcStatus(t, err); st.Code() != codes.NotFound || st.Message() != "hub: not found: release "+missing {
			t.Errorf("lineage of an unknown release: %v", err)
		}
	})
}

// A merge recorded before releases carried their Inputs has them in its
// log entry: the graph takes them from there.
func TestLineageReadsOldMergesInputsFromTheirLogEntry(t *testing.T) {
	hs := newHarness(t)
	c := newRecordChain(t)
	entry, err := potluck.EncodeEntry(&potluck.ReleaseEntry{Release: c.m1, Kind: potluck.KindMerge, Base: c.base, Inputs: []string{c.d1, c.d2}})
	if err != nil {
		t.Fatal(err)
	}
	m1 := c.records[5]
	m1.Inputs, m1.Receipt = nil, &potluck.Receipt{Index: 9, Entry: entry}
	hs.writeRecords(c.records...)
	d, err := hs.client.Detail(context.Background(), c.d2)
	if err != nil || !slices.Equal(d.Children, []string{c.m1}) {
		t.Fatalf("children of the merge's input: %v, %v", d, err)
	}
}

func getJSON(t *testing.T, url string, code int, v any) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != code {
		t.Fatalf("GET %s: %d %s, want %d", url, resp.StatusCode, body, code)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v\n%s", url, err, body)
		}
	}
	return body
}

// Publishing updates the graph at once: the base lists its new delta.
func TestChildrenFollowPublishing(t *testing.T) {
	hs := newHarness(t)
	ctx := context.Background()
	m, base := hs.registeredBase(t)
	d, err := hs.client.Detail(ctx, base.CID)
	if err != nil || len(d.Children) != 0 {
		t.Fatalf("a new base's children: %v, %v", d, err)
	}
	delta := filepath.Join(hs.dir, "delta-a")
	makeDelta(t, m.base, m.ftA, delta, base.CID)
	rel, err := hs.publish(delta, hs.keyA, base.CID)
	if err != nil {
		t.Fatal(err)
	}
	d, err = hs.client.Detail(ctx, base.CID)
	if err != nil || !slices.Equal(d.Children, []string{rel.CID}) {
		t.Fatalf("the base's children after a delta was published: %v, %v", d, err)
	}
	l, err := hs.client.Lineage(ctx, rel.CID)
	if err != nil || !slices.Equal(lineageShape(l), []string{base.CID + "<-", rel.CID + "<-" + base.CID}) {
		t.Fatalf("lineage of the delta: %v, %v", l, err)
	}
}

// listPage lists a page over gRPC, returning its CIDs and next token.
func (hs *harness) listPage(req *hubv1.ListRequest) ([]string, string) {
	hs.t.Helper()
	resp, err := hs.raw.List(context.Background(), req)
	if err != nil {
		hs.t.Fatal(err)
	}
	var out []string
	for _, r := range resp.GetReleases() {
		out = append(out, r.GetCid())
	}
	return out, resp.GetNextPageToken()
}

func TestListPages(t *testing.T) {
	// Five records, oldest first; r2 and r3 were accepted at the same
	// moment, so their CIDs order them.
	setup := func(t *testing.T) (*harness, []string) {
		hs := newHarness(t)
		var rs []*potluck.Release
		for i, day := range []int{0, 1, 1, 2, 3} {
			rs = append(rs, &potluck.Release{CID: fakeCID(t, fmt.Sprint("r", i)), Kind: potluck.KindBase, Publisher: orgA,
				Created: t0.Add(time.Duration(day) * time.Hour)})
		}
		if rs[1].CID > rs[2].CID {
			rs[1], rs[2] = rs[2], rs[1]
		}
		hs.writeRecords(rs...)
		var order []string
		for _, r := range rs {
			order = append(order, r.CID)
		}
		return hs, order
	}
	t.Run("OldestFirstTiesByCID", func(t *testing.T) {
		hs, order := setup(t)
		got, next := hs.listPage(&hubv1.ListRequest{})
		if !slices.Equal(got, order) || next != "" {
			t.Errorf("one page of the default size: %v (next %q), want %v", got, next, order)
		}
		if got, _ := hs.listPage(&hubv1.ListRequest{PageSize: 1 << 30}); !slices.Equal(got, order) {
			t.Errorf("a page size past the maximum is the maximum: %v", got)
		}
	})
	t.Run("TokensHoldAcrossAnInsertion", func(t *testing.T) {
		hs, order := setup(t)
		p1, tok := hs.listPage(&hubv1.ListRequest{PageSize: 2})
		if !slices.Equal(p1, order[:2]) || tok == "" {
			t.Fatalf("page 1: %v (next %q)", p1, tok)
		}
		m := writeModels(t, hs.dir)
		fresh, err := hs.registerBase(m.base, hs.keyA) // the newest release
		if err != nil {
			t.Fatal(err)
		}
		p2, tok2 := hs.listPage(&hubv1.ListRequest{PageSize: 2, PageToken: tok})
		p3, tok3 := hs.listPage(&hubv1.ListRequest{PageSize: 2, PageToken: tok2})
		if !slices.Equal(p2, order[2:4]) || !slices.Equal(p3, []string{order[4], fresh.CID}) || tok3 != "" {
			t.Errorf("pages after an insertion: %v, %v (next %q); want %v, %v", p2, p3, tok3, order[2:4], []string{order[4], fresh.CID})
		}
		// A release dated before the cursor (a record restored, say) does
		// not shift the pages: the token names a place, not an offset.
		hs.writeRecords(&potluck.Release{CID: fakeCID(t, "restored"), Kind: potluck.KindBase, Publisher: orgA, Created: t0.Add(-time.Hour)})
		if again, _ := hs.listPage(&hubv1.ListRequest{PageSize: 2, PageToken: tok}); !slices.Equal(again, p2) {
			t.Errorf("page 2 after a restart and an older release: %v, want %v", again, p2)
		}
	})
	t.Run("HTTP", func(t *testing.T) {
		hs, order := setup(t)
		srv := httptest.NewServer(hub.HTTPHandler(hs.h))
		defer srv.Close()
		var got []string
		for tok, n := "", 0; n == 0 || tok != ""; n++ {
			var p hub.ListPage
			getJSON(t, srv.URL+"/v1/releases?page_size=3&page_token="+tok, http.StatusOK, &p)
			for _, r := range p.Releases {
				got = append(got, r.CID)
			}
			tok = p.NextPageToken
		}
		if !slices.Equal(got, order) {
			t.Errorf("HTTP pages of 3: %v, want %v", got, order)
		}
	})
	t.Run("BadArguments", func(t *testing.T) {
		hs, _ := setup(t)
		ctx := context.Background()
		_, err := hs.raw.List(ctx, &hubv1.ListRequest{PageToken: "nonsense"})
		if st := grpcStatus(t, err); st.Code() != codes.InvalidArgument ||
			st.Message() != `hub: bad request: page token "nonsense" is not one this hub gave: list again from the first page` {
			t.Errorf("a bad page token: %v", err)
		}
		_, err = hs.raw.List(ctx, &hubv1.ListRequest{PageSize: -1})
		if st := grpcStatus(t, err); st.Code() != codes.InvalidArgument || st.Message() != "hub: bad request: page size -1: want 0 (the default, 500) to 5000" {
			t.Errorf("a negative page size: %v", err)
		}
		srv := httptest.NewServer(hub.HTTPHandler(hs.h))
		defer srv.Close()
		var e map[string]string
		getJSON(t, srv.URL+"/v1/releases?page_size=many", http.StatusBadRequest, &e)
		if e["error"] != `hub: bad request: page_size "many": want a number from 0 (the default, 500) to 5000` {
			t.Errorf("HTTP page_size=many: %q", e["error"])
		}
	})
}

func TestListFilters(t *testing.T) {
	hs := newHarness(t)
	c := newRecordChain(t)
	hs.writeRecords(c.records...)
	for _, tc := range []struct {
		name string
		req  *hubv1.ListRequest
		want []string
	}{
		{"Kind", &hubv1.ListRequest{Kind: hubv1.ReleaseKind_RELEASE_KIND_MERGE}, []string{c.m1, c.m2}},
		{"Base", &hubv1.ListRequest{BaseCid: c.base}, []string{c.d1, c.d2, c.m1}},
		{"BaseAndKind", &hubv1.ListRequest{BaseCid: c.base, Kind: hubv1.ReleaseKind_RELEASE_KIND_DELTA}, []string{c.d1, c.d2}},
		{"Org", &hubv1.ListRequest{Org: orgB}, []string{c.other, c.d2, c.otherDelta, c.d3}},
		{"OrgPaged", &hubv1.ListRequest{Org: orgB, PageSize: 3}, []string{c.other, c.d2, c.otherDelta}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := hs.listPage(tc.req)
			// Day 0 and day 2 each hold two releases: their CIDs order them.
			tieSort(c, tc.want)
			if !slices.Equal(got, tc.want) {
				t.Errorf("List(%v): %v, want %v", tc.req, got, tc.want)
			}
		})
	}
}

func day(c recordChain, cid string) int {
	for _, r := range c.records {
		if r.CID == cid {
			return int(r.Created.Sub(t0).Hours() / 24)
		}
	}
	return -1
}

// tieSort orders CIDs of the same day by CID, as the hub does.
func tieSort(c recordChain, cids []string) {
	slices.SortStableFunc(cids, func(a, b string) int {
		if d := day(c, a) - day(c, b); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
}

func TestListUnknownKind(t *testing.T) {
	hs := newHarness(t)
	_, err := hs.raw.List(context.Background(), &hubv1.ListRequest{Kind: hubv1.ReleaseKind(9)})
	if st := grpcStatus(t, err); st.Code() != codes.InvalidArgument ||
		st.Message() != "hub: bad request: kind 9: want RELEASE_KIND_BASE, RELEASE_KIND_DELTA or RELEASE_KIND_MERGE (or unspecified for every kind)" {
		t.Errorf("List of kind 9: %v", err)
	}
	srv := httptest.NewServer(hub.HTTPHandler(hs.h))
	defer srv.Close()
	var e map[string]string
	getJSON(t, srv.URL+"/v1/releases?kind=lora", http.StatusBadRequest, &e)
	if e["error"] != `hub: bad request: kind "lora": want base, delta or merge (or none for every kind)` {
		t.Errorf("HTTP kind=lora: %q", e["error"])
	}
}

// Empty lists are [] in JSON, never null.
func TestEmptyListsInJSON(t *testing.T) {
	hs := newHarness(t)
	srv := httptest.NewServer(hub.HTTPHandler(hs.h))
	defer srv.Close()
	raw := func(url string) map[string]json.RawMessage {
		var m map[string]json.RawMessage
		getJSON(t, url, http.StatusOK, &m)
		return m
	}
	if m := raw(srv.URL + "/v1/releases"); string(m["releases"]) != "[]" || string(m["next_page_token"]) != `""` {
		t.Errorf("an empty hub's listing: %v", m)
	}
	lone := fakeCID(t, "lone")
	hs.writeRecords(&potluck.Release{CID: lone, Kind: potluck.KindBase, Publisher: orgA, Created: t0})
	srv = httptest.NewServer(hub.HTTPHandler(hs.h))
	defer srv.Close()
	m := raw(srv.URL + "/v1/releases/" + lone)
	if string(m["children"]) != "[]" || string(m["attestations"]) != "[]" || string(m["cid"]) != `"`+lone+`"` {
		t.Errorf("a lone base: children %s, attestations %s, cid %s", m["children"], m["attestations"], m["cid"])
	}
	body := getJSON(t, srv.URL+"/v1/releases/"+lone+"/lineage", http.StatusOK, nil)
	if !strings.Contains(string(body), `"parents": []`) {
		t.Errorf("a lone base's lineage: %s", body)
	}
	if m := raw(srv.URL + "/v1/releases?org=nobody"); string(m["releases"]) != "[]" {
		t.Errorf("a listing that matches nothing: %v", m)
	}
}

// The graph's reads follow --members-only-reads like every read.
func TestLineageMembersOnly(t *testing.T) {
	hs, tokA, _, _ := tokenHarness(t, hub.Access{MembersOnlyReads: true})
	ctx := context.Background()
	lone := fakeCID(t, "lone")
	hs.writeRecords(&potluck.Release{CID: lone, Kind: potluck.KindBase, Publisher: orgA, Created: t0})
	if _, err := hs.client.Lineage(ctx, lone); grpcStatus(t, err).Code() != codes.Unauthenticated {
		t.Errorf("lineage without a token: %v", err)
	}
	if _, err := hs.as(tokA).Lineage(ctx, lone); err != nil {
		t.Errorf("a member's lineage: %v", err)
	}
	srv := httptest.NewServer(hub.HTTPHandler(hs.h))
	defer srv.Close()
	getJSON(t, srv.URL+"/v1/releases/"+lone+"/lineage", http.StatusUnauthorized, nil)
	req, _ := http.NewRequest("GET", srv.URL+"/v1/releases/"+lone+"/lineage", nil)
	req.Header.Set("Authorization", "Bearer "+tokA)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("a member's HTTP lineage: %v %v", resp, err)
	}
	resp.Body.Close()
}
