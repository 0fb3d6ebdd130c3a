package hub_test

// Taking a release back openly: who may yank, what the log and the record
// say, and what still works on a yanked release.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/hub"
	"github.com/potluck-hub/potluck/node"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
	"github.com/potluck-hub/potluck/signing"
)

// yankSetup is a hub with tokens (lab-a, lab-b, the operator "ops"), a
// base lab-a registered and a delta of it lab-b published.
type yankSetup struct {
	hs          *harness
	a, b, op    *node.Client
	base, delta *potluck.Release
	deltaDir    string
}

func newYankSetup(t *testing.T) *yankSetup {
	hs, tokA, tokB, tokOp := tokenHarness(t, hub.Access{RequireToken: true})
	s := &yankSetup{hs: hs, a: hs.as(tokA), b: hs.as(tokB), op: hs.as(tokOp), deltaDir: filepath.Join(hs.dir, "delta-b")}
	ctx := context.Background()
	m := writeModels(t, hs.dir)
	d, bundle := signDir(t, m.base, hs.keyA)
	var err error
	if s.base, err = s.a.RegisterBase(ctx, d, bundle, nil); err != nil {
		t.Fatal(err)
	}
	makeDelta(t, m.base, m.ftB, s.deltaDir, s.base.CID)
	scan, dbundle := signDir(t, s.deltaDir, hs.keyB)
	if s.delta, err = s.b.Publish(ctx, scan, dbundle, s.base.CID, nil); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestYank(t *testing.T) {
	ctx := context.Background()
	const reason = "trained on the evaluation set by mistake"

	t.Run("ByPublisher", func(t *testing.T) {
		s := newYankSetup(t)
		before := time.Now().Add(-time.Second)
		r, affected, err := s.b.Yank(ctx, s.delta.CID, reason)
		if err != nil {
			t.Fatal(err)
		}
		y := r.Yank
		if y == nil || y.Org != orgB || y.Reason != reason || y.Time.Before(before.Truncate(time.Second)) || len(affected) != 0 {
			t.Fatalf("yank: %+v, affected %v", y, affected)
		}
		entries := s.hs.logEntries()
		e, ok := entries[y.LogIndex].(*potluck.YankEntry)
		if !ok || e.Release != s.delta.CID || e.Org != orgB || e.Reason != reason || e.Time.Unix() != y.Time.Unix() {
			t.Fatalf("log entry %d: %+v, want the yank", y.LogIndex, entries[y.LogIndex])
		}
		if int(y.LogIndex) != len(entries)-1 {
			t.Errorf("the yank is entry %d of %d", y.LogIndex, len(entries))
		}
		// Still served by CID, bytes and all; the record survives a restart.
		s.hs.stop()
		s.hs.start()
		got, err := s.hs.client.Release(ctx, s.delta.CID)
		if err != nil || got.Yank == nil || *got.Yank != *y {
			t.Fatalf("the yanked release after a restart: %+v, %v", got, err)
		}
		if b, err := s.hs.getRange(s.delta.CID, got.Files[0].Path, 0, 16); err != nil || len(b) != 16 {
			t.Errorf("bytes of the yanked release: %d, %v", len(b), err)
		}
	})

	t.Run("ByOperator", func(t *testing.T) {
		s := newYankSetup(t)
		r, affected, err := s.op.Yank(ctx, s.base.CID, reason)
		if err != nil {
			t.Fatal(err)
		}
		if r.Yank.Org != "ops" || !slices.Equal(affected, []string{s.delta.CID}) {
			t.Errorf("the operator's yank: %+v, affected %v; want by ops, affecting %s", r.Yank, affected, s.delta.CID)
		}
	})

	t.Run("RefusedForAnotherOrg", func(t *testing.T) {
		s := newYankSetup(t)
		size := s.hs.logSize()
		_, _, err := s.a.Yank(ctx, s.delta.CID, reason)
		want := `hub: forbidden: org "lab-a" may not yank release ` + s.delta.CID + `: only its publisher "lab-b" or an operator may`
		if st := grpcStatus(t, err); st.Code() != codes.PermissionDenied || st.Message() != want {
			t.Errorf("lab-a yanking lab-b's delta: %v\nwant PermissionDenied: %s", err, want)
		}
		if r, _ := s.hs.client.Release(ctx, s.delta.CID); r.Yank != nil || s.hs.logSize() != size {
			t.Errorf("a refused yank left a yank %+v or a log entry", r.Yank)
		}
	})

	t.Run("NeedsAToken", func(t *testing.T) {
		hs, tokA, _, _ := tokenHarness(t, hub.Access{})
		lone := fakeCID(t, "lone")
		hs.writeRecords(&potluck.Release{CID: lone, Kind: potluck.KindBase, Publisher: orgA, Created: t0})
		_, _, err := hs.client.Yank(ctx, lone, reason)
		want := `hub: unauthenticated: yanking release ` + lone + ` needs a token of its publisher "lab-a" or of an operator`
		if st := grpcStatus(t, err); st.Code() != codes.Unauthenticated || st.Message() != want {
			t.Errorf("a yank with no token: %v\nwant Unauthenticated: %s", err, want)
		}
		if _, _, err := hs.as(tokA).Yank(ctx, lone, reason); err != nil {
			t.Errorf("the publisher's yank: %v", err)
		}
	})

	t.Run("Twice", func(t *testing.T) {
		s := newYankSetup(t)
		first, _, err := s.b.Yank(ctx, s.delta.CID, reason)
		if err != nil {
			t.Fatal(err)
		}
		size := s.hs.logSize()
		_, _, err = s.op.Yank(ctx, s.delta.CID, "again")
		y := first.Yank
		want := `hub: already yanked: release ` + s.delta.CID + ` was yanked by "lab-b" at ` + y.Time.Format(time.RFC3339) +
			` (log entry ` + itoa(y.LogIndex) + `): ` + reason
		if st := grpcStatus(t, err); st.Code() != codes.AlreadyExists || st.Message() != want {
			t.Errorf("a second yank: %v\nwant AlreadyExists: %s", err, want)
		}
		if s.hs.logSize() != size {
			t.Error("the second yank was logged")
		}
	})

	t.Run("ReasonRequired", func(t *testing.T) {
		s := newYankSetup(t)
		size := s.hs.logSize()
		for _, tc := range []struct{ reason, want string }{
			{"", "a reason is required: say why the release is withdrawn"},
			{" \t ", "a reason is required: say why the release is withdrawn"},
			{strings.Repeat("x", hub.MaxYankReason+1), "the reason has 1001 bytes; at most 1000"},
			{"two\nlines", "the reason must be one line of UTF-8 text, without control characters"},
		} {
			_, _, err := s.b.Yank(ctx, s.delta.CID, tc.reason)
			want := "hub: bad request: yank " + s.delta.CID + ": " + tc.want
			if st := grpcStatus(t, err); st.Code() != codes.InvalidArgument || st.Message() != want {
				t.Errorf("yank with reason %q: %v\nwant InvalidArgument: %s", tc.reason, err, want)
			}
		}
		if s.hs.logSize() != size {
			t.Error("a refused yank was logged")
		}
	})

	t.Run("ListingHidesYanked", func(t *testing.T) {
		s := newYankSetup(t)
		if _, _, err := s.b.Yank(ctx, s.delta.CID, reason); err != nil {
			t.Fatal(err)
		}
		if got := s.hs.mustList(); !slices.Equal(got, []string{s.base.CID}) {
			t.Errorf("List after the yank: %v, want the base alone", got)
		}
		all, err := s.hs.client.ListAll(ctx, node.ListOptions{IncludeYanked: true})
		if err != nil || len(all) != 2 || all[1].CID != s.delta.CID || all[1].Yank == nil {
			t.Errorf("List with yanked ones: %v, %v", all, err)
		}
		srv := httptest.NewServer(hub.HTTPHandler(s.hs.h))
		defer srv.Close()
		for q, n := range map[string]int{"": 1, "?include_yanked=true": 2, "?include_yanked=1&kind=delta": 1, "?kind=delta": 0} {
			var p hub.ListPage
			getJSON(t, srv.URL+"/v1/releases"+q, http.StatusOK, &p)
			if len(p.Releases) != n {
				t.Errorf("HTTP /v1/releases%s: %d releases, want %d", q, len(p.Releases), n)
			}
		}
		// The gateway still serves its bytes.
		if resp, err := http.Get(srv.URL + "/ipfs/" + s.delta.CID + "?format=car"); err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("the gateway's CAR of the yanked release: %v, %v", resp, err)
		} else {
			resp.Body.Close()
		}
		var d potluck.ReleaseDetail
		getJSON(t, srv.URL+"/v1/releases/"+s.delta.CID, http.StatusOK, &d)
		if d.Release == nil || d.Yank == nil || d.Yank.Reason != reason {
			t.Errorf("HTTP of the yanked release: %+v", d.Release)
		}
		l, err := s.hs.client.Lineage(ctx, s.base.CID)
		if err != nil || len(l.Nodes) != 2 || l.Nodes[0].Yanked || !l.Nodes[1].Yanked {
			t.Errorf("lineage after the yank: %+v, %v", l, err)
		}
	})

	t.Run("PullAndVerifyFlagIt", func(t *testing.T) {
		s := newYankSetup(t)
		if _, _, err := s.b.Yank(ctx, s.delta.CID, reason); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(s.hs.dir, "pulled")
		p, err := s.hs.client.Pull(ctx, s.delta.CID, out, []*signing.PublicKey{s.hs.pubB}, nil)
		if err != nil {
			t.Fatalf("pull of a yanked release: %v", err)
		}
		if y := p.Release.Yank; y == nil || y.Org != orgB || y.Reason != reason {
			t.Errorf("the pulled release's yank: %+v", y)
		}
		kept, err := node.ReadYank(out)
		if err != nil || kept == nil || *kept != *p.Release.Yank {
			t.Errorf("%s: %+v, %v; want the yank", node.YankFile, kept, err)
		}
		rep, err := node.VerifyDir(out, []*signing.PublicKey{s.hs.pubB})
		if err != nil || rep.Yank == nil || *rep.Yank != *kept || rep.CID != s.delta.CID {
			t.Errorf("verify of the pulled yanked release: %+v, %v", rep, err)
		}
		// A release pulled before it was yanked keeps no yank.
		fresh := filepath.Join(s.hs.dir, "pulled-base")
		if _, err := s.hs.client.Pull(ctx, s.base.CID, fresh, []*signing.PublicKey{s.hs.pubA}, nil); err != nil {
			t.Fatal(err)
		}
		if y, err := node.ReadYank(fresh); y != nil || err != nil {
			t.Errorf("a release not yanked keeps %+v, %v", y, err)
		}
	})

	t.Run("AffectedListsDescendants", func(t *testing.T) {
		hs, tokA, _, tokOp := tokenHarness(t, hub.Access{RequireToken: true})
		c := newRecordChain(t)
		hs.writeRecords(c.records...)
		_, affected, err := hs.as(tokA).Yank(ctx, c.d1, reason)
		if err != nil || !slices.Equal(affected, []string{c.m1, c.d3, c.m2}) {
			t.Errorf("yank of d1: affected %v, %v; want m1, d3, m2", affected, err)
		}
		_, affected, err = hs.as(tokOp).Yank(ctx, c.m2, reason)
		if err != nil || affected == nil || len(affected) != 0 {
			t.Errorf("yank of the last merge: affected %#v, %v; want none", affected, err)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// The operator may free a yanked release's bytes once nothing is built on
// it; its log entries stay.
func TestUnpinYanked(t *testing.T) {
	s := newYankSetup(t)
	ctx := context.Background()
	raw := s.hs.rawAs(s.op)
	if _, _, err := s.op.Yank(ctx, s.base.CID, "withdrawn upstream"); err != nil {
		t.Fatal(err)
	}
	_, err := raw.Unpin(ctx, &hubv1.UnpinRequest{Cid: s.base.CID})
	if st := grpcStatus(t, err); st.Code() != codes.FailedPrecondition || !strings.Contains(st.Message(), "delta "+s.delta.CID+" is built on it") {
		t.Errorf("unpin of a yanked base a delta builds on: %v", err)
	}
	_, err = raw.Unpin(ctx, &hubv1.UnpinRequest{Cid: s.delta.CID})
	if st := grpcStatus(t, err); st.Code() != codes.FailedPrecondition || !strings.Contains(st.Message(), "of the hub's log records it") {
		t.Errorf("unpin of a logged release not yanked: %v", err)
	}
	_, y, err := s.b.Yank(ctx, s.delta.CID, "superseded")
	if err != nil || len(y) != 0 {
		t.Fatal(err)
	}
	size := s.hs.logSize()
	if _, err := raw.Unpin(ctx, &hubv1.UnpinRequest{Cid: s.delta.CID}); err != nil {
		t.Fatalf("unpin of a yanked delta nothing builds on: %v", err)
	}
	if _, err := s.hs.client.Release(ctx, s.delta.CID); grpcStatus(t, err).Code() != codes.NotFound {
		t.Errorf("the unpinned delta is still served: %v", err)
	}
	if s.hs.logSize() != size {
		t.Errorf("unpinning changed the log: %d entries, %d before", s.hs.logSize(), size)
	}
	if _, err := raw.Unpin(ctx, &hubv1.UnpinRequest{Cid: s.base.CID}); err != nil {
		t.Errorf("unpin of the yanked base once its delta is gone: %v", err)
	}
	if _, err := os.Stat(filepath.Join(s.hs.data, "releases", s.base.CID+".json")); !os.IsNotExist(err) {
		t.Errorf("the base's record after unpin: %v", err)
	}
}

// TestYankedRefusedEndToEnd: what the Yank RPC withdrew, nothing new builds
// on: the hub refuses it as a merge's input and as a new delta's base, with
// the yank's who, when and why.
func TestYankedRefusedEndToEnd(t *testing.T) {
	ctx := context.Background()
	const reason = "its training data leaked the test set"
	t.Run("AsMergeInput", func(t *testing.T) {
		s := newYankSetup(t)
		r, _, err := s.b.Yank(ctx, s.delta.CID, reason)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.a.Merge(ctx, recipe(s.base.CID, []string{s.delta.CID}, []float64{1}))
		want := fmt.Sprintf("merge: models[0] %s was yanked by %s on %s (%q)", s.delta.CID, orgB, r.Yank.Time.Format(time.RFC3339), reason)
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), want) {
			t.Fatalf("merge over a yanked delta: %v, want InvalidArgument containing %q", err, want)
		}
	})
	t.Run("AsBase", func(t *testing.T) {
		s := newYankSetup(t)
		r, _, err := s.op.Yank(ctx, s.base.CID, reason)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(s.hs.dir, "delta-a")
		m := writeModels(t, filepath.Join(s.hs.dir, "again"))
		makeDelta(t, m.base, m.ftA, dir, s.base.CID)
		scan, bundle := signDir(t, dir, s.hs.keyA)
		_, err = s.a.Publish(ctx, scan, bundle, s.base.CID, nil)
		want := fmt.Sprintf("delta for base %s was yanked by ops on %s (%q)", s.base.CID, r.Yank.Time.Format(time.RFC3339), reason)
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), want) {
			t.Fatalf("a delta of a yanked base: %v, want an error containing %q", err, want)
		}
	})
}
