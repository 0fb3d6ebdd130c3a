package hub_test

// Publish once: the preflight answers before anything is computed or
// sent, and a release the hub holds already is not sent again.

import (
	"context"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/hub"
	"github.com/potluck-hub/potluck/node"
)

// metric returns the value of the series named exactly so ("" if absent).
func (hs *harness) metric(series string) string {
	hs.t.Helper()
	rec := httptest.NewRecorder()
	hs.h.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return v
		}
	}
	return ""
}

// sent is what the hub counted of uploads: sessions opened, chunk streams,
// bytes.
func (hs *harness) sent() string {
	calls := func(m string) string {
		return hs.metric(`potluck_rpc_duration_seconds_count{code="OK",method="/potluck.hub.v1.HubService/` + m + `"}`)
	}
	return "StartUpload " + calls("StartUpload") + ", UploadChunks " + calls("UploadChunks") + ", bytes " + hs.metric("potluck_upload_bytes_total")
}

func TestPreflight(t *testing.T) {
	ctx := context.Background()
	refused := func(t *testing.T, err error, code codes.Code, want string, prefix bool) {
		t.Helper()
		if err == nil {
			t.Fatal("cleared")
		}
		st := grpcStatus(t, err)
		if st.Code() != code || (st.Message() != want && !(prefix && strings.HasPrefix(st.Message(), want))) {
			t.Errorf("refusal: %v %q\nwant      %v %q", st.Code(), st.Message(), code, want)
		}
	}

	t.Run("Cleared", func(t *testing.T) {
		hs := newHarness(t)
		r := releaseTiny(t, hs, hs.client)
		c, err := hs.client.CheckPublish(ctx, potluck.KindDelta, r.base.CID, hs.pubB, "")
		if err != nil || c.Org != orgB || c.Base == nil || c.Base.CID != r.base.CID || c.Existing != nil {
			t.Fatalf("preflight of lab-b's delta: %+v, %v", c, err)
		}
		c, err = hs.client.CheckPublish(ctx, potluck.KindDelta, r.base.CID, hs.pubB, r.delta.CID)
		if err != nil || c.Existing == nil || c.Existing.CID != r.delta.CID || c.Existing.Publisher != orgA {
			t.Fatalf("preflight naming a release the hub holds: %+v, %v", c, err)
		}
	})

	t.Run("OutsidersKey", func(t *testing.T) {
		hs := newHarness(t)
		_, err := hs.client.CheckPublish(ctx, potluck.KindBase, "", hs.pubX, "")
		refused(t, err, codes.PermissionDenied, "hub: forbidden: preflight: key "+hs.pubX.Hint()+
			" is no member's key on this hub (the operator lists members' public keys in the members file)", false)
	})

	t.Run("KeyOutsideItsWindow", func(t *testing.T) {
		hs := newHarness(t)
		hs.rewriteMembers("        not_after: 2020-01-01T00:00:00Z\n", "")
		_, err := hs.client.CheckPublish(ctx, potluck.KindBase, "", hs.pubA, "")
		refused(t, err, codes.PermissionDenied, `preflight: hub: key not valid: key `+hs.pubA.Hint()+
			` of "lab-a" was outside its validity window (expired at 2020-01-01T00:00:00Z, before `, true)
	})

	t.Run("AnotherOrgsKey", func(t *testing.T) {
		hs, tokA, _, _ := tokenHarness(t, hub.Access{RequireToken: true})
		_, err := hs.as(tokA).CheckPublish(ctx, potluck.KindBase, "", hs.pubB, "")
		refused(t, err, codes.PermissionDenied, `hub: forbidden: preflight: key `+hs.pubB.Hint()+
			` is "lab-b"'s, but the caller authenticated as "lab-a": sign with a key of your own org`, false)
	})

	t.Run("UnknownBase", func(t *testing.T) {
		hs := newHarness(t)
		m := tinyModels(t, hs.dir)
		unknown := dirCID(t, m.base)
		_, err := hs.client.CheckPublish(ctx, potluck.KindDelta, unknown, hs.pubA, "")
		refused(t, err, codes.InvalidArgument, `preflight: hub: rejected: delta for base "`+unknown+`": hub: not found: release `+unknown, false)
	})

	t.Run("BaseIsADelta", func(t *testing.T) {
		hs := newHarness(t)
		r := releaseTiny(t, hs, hs.client)
		_, err := hs.client.CheckPublish(ctx, potluck.KindDelta, r.delta.CID, hs.pubA, "")
		refused(t, err, codes.InvalidArgument, `preflight: hub: rejected: delta for base `+r.delta.CID+` is a delta; build on a base or a merge (the delta's own base is `+r.delta.Base+`)`, false)
	})

	// A refusal comes before the delta is computed: --out never appears.
	t.Run("BeforeTheDeltaIsComputed", func(t *testing.T) {
		hs := newHarness(t)
		r := releaseTiny(t, hs, hs.client)
		out := filepath.Join(hs.dir, "never")
		before := dirNames(t, hs.dir)
		_, err := hs.client.PublishDelta(ctx, hs.keyX, node.DeltaOptions{BaseDir: r.m.base, FinetunedDir: r.m.ftB, OutDir: out}, node.UploadOptions{})
		refused(t, err, codes.PermissionDenied, "hub: forbidden: preflight: key "+hs.pubX.Hint()+
			" is no member's key on this hub (the operator lists members' public keys in the members file)", false)
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("the refused publication wrote %s: %v", out, err)
		}
		if after := dirNames(t, hs.dir); strings.Join(after, ",") != strings.Join(before, ",") {
			t.Errorf("the refused publication left %v (before: %v)", after, before)
		}
	})
}

// A release the hub holds already is not sent again: the node learns it by
// CID after hashing, and sends not a byte.
func TestPublishOnce(t *testing.T) {
	ctx := context.Background()
	t.Run("Delta", func(t *testing.T) {
		hs := newHarness(t)
		r := releaseTiny(t, hs, hs.client)
		before := hs.sent()
		if !strings.HasPrefix(before, "StartUpload 4, UploadChunks 2, bytes ") {
			t.Fatalf("uploads counted for the base and the delta: %s", before)
		}
		p, err := hs.client.PublishDelta(ctx, hs.keyB, node.DeltaOptions{BaseDir: r.m.base, FinetunedDir: r.m.ftA,
			OutDir: filepath.Join(hs.dir, "again")}, node.UploadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !p.Existing || p.Release.CID != r.delta.CID || p.Release.Publisher != orgA || p.Release.Receipt == nil {
			t.Fatalf("publishing lab-a's delta again: %+v", p)
		}
		if after := hs.sent(); after != before {
			t.Errorf("uploads counted: %s before, %s after", before, after)
		}
	})
	t.Run("Base", func(t *testing.T) {
		hs := newHarness(t)
		r := releaseTiny(t, hs, hs.client)
		before := hs.sent()
		p, err := hs.client.PublishBase(ctx, hs.keyB, r.m.base, node.UploadOptions{})
		if err != nil || !p.Existing || p.Release.CID != r.base.CID {
			t.Fatalf("registering the base again: %+v, %v", p, err)
		}
		if after := hs.sent(); after != before {
			t.Errorf("uploads counted: %s before, %s after", before, after)
		}
	})
}
