package hub_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/hub"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
)

// No member can exhaust the hub: each limit refuses what is beyond it with
// ResourceExhausted, naming the limit and its setting.

// limited restarts hs with limits l.
func (hs *harness) limited(l hub.Limits) {
	hs.stop()
	prev := hs.configure
	hs.configure = func(o *hub.Options) {
		if prev != nil {
			prev(o)
		}
		o.Limits = l
	}
	hs.start()
}

// expectLimit asserts err is ResourceExhausted with exactly the message want
// (after the sentinel's prefix).
func expectLimit(t *testing.T, err error, want string) {
	t.Helper()
	st := grpcStatus(t, err)
	if st.Code() != codes.ResourceExhausted || st.Message() != "hub: limit: "+want {
		t.Errorf("got %v %q\nwant ResourceExhausted %q", st.Code(), st.Message(), "hub: limit: "+want)
	}
}

// baseHeader is the upload header of a test base signed by lab-a.
func (hs *harness) baseHeader(t *testing.T) *hubv1.UploadHeader {
	m := writeModels(t, hs.dir)
	_, bundle := signDir(t, m.base, hs.keyA)
	h, _ := uploadHeader(t, m.base, bundle, "")
	return h
}

func TestLimits(t *testing.T) {
	ctx := context.Background()
	t.Run("SessionsPerOrg", func(t *testing.T) {
		hs := newHarness(t)
		hs.limited(hub.Limits{SessionsPerOrg: 2})
		h := hs.baseHeader(t)
		rawStart(t, hs.raw, hubv1.ReleaseKind_RELEASE_KIND_BASE, h)
		rawStart(t, hs.raw, hubv1.ReleaseKind_RELEASE_KIND_BASE, h)
		_, err := hs.raw.StartUpload(ctx, &hubv1.StartUploadRequest{Kind: hubv1.ReleaseKind_RELEASE_KIND_BASE, Header: h})
		expectLimit(t, err, "callers without a token: 2 upload sessions open, at most 2 (Limits.SessionsPerOrg, hub serve --limit-sessions-per-org): commit them, or let them expire")
	})
	t.Run("Sessions", func(t *testing.T) {
		hs := newHarness(t)
		hs.limited(hub.Limits{SessionsPerOrg: -1, Sessions: 1})
		h := hs.baseHeader(t)
		rawStart(t, hs.raw, hubv1.ReleaseKind_RELEASE_KIND_BASE, h)
		_, err := hs.raw.StartUpload(ctx, &hubv1.StartUploadRequest{Kind: hubv1.ReleaseKind_RELEASE_KIND_BASE, Header: h})
		expectLimit(t, err, "the hub: 1 upload sessions open, at most 1 (Limits.Sessions, hub serve --limit-sessions): try again later")
	})
	t.Run("CommittedSessionsDoNotCount", func(t *testing.T) {
		hs := newHarness(t)
		hs.limited(hub.Limits{SessionsPerOrg: 1})
		m := writeModels(t, hs.dir)
		if _, err := hs.registerBase(m.base, hs.keyA); err != nil {
			t.Fatal(err)
		}
		if _, err := hs.registerBase(m.ftA, hs.keyA); err != nil {
			t.Fatalf("a second upload after the first was committed: %v", err)
		}
	})
	t.Run("UploadBytes", func(t *testing.T) {
		hs := newHarness(t)
		hs.limited(hub.Limits{UploadBytes: 1000})
		h := hs.baseHeader(t)
		var n uint64
		for _, f := range h.Files {
			n += f.Size
		}
		_, err := hs.raw.StartUpload(ctx, &hubv1.StartUploadRequest{Kind: hubv1.ReleaseKind_RELEASE_KIND_BASE, Header: h})
		expectLimit(t, err, fmt.Sprintf("the upload: %d bytes declared, at most 1000 (Limits.UploadBytes, hub serve --limit-upload-bytes)", n))
	})
	t.Run("FreeSpace", func(t *testing.T) {
		hs := newHarness(t)
		hs.limited(hub.Limits{UploadBytes: -1})
		h := hs.baseHeader(t)
		h.Files[0].Size = 1 << 62 // a declared 4 EiB
		_, err := hs.raw.StartUpload(ctx, &hubv1.StartUploadRequest{Kind: hubv1.ReleaseKind_RELEASE_KIND_BASE, Header: h})
		st := grpcStatus(t, err)
		if st.Code() != codes.ResourceExhausted || !strings.Contains(st.Message(), "free (ask the operator for space)") {
			t.Errorf("got %v %q, want ResourceExhausted naming the free space", st.Code(), st.Message())
		}
	})
	t.Run("RecipeBytes", func(t *testing.T) {
		hs := newHarness(t)
		hs.limited(hub.Limits{RecipeBytes: 100})
		rec := []byte("merge_method: linear\n" + strings.Repeat("# padding\n", 20))
		_, err := hs.client.StartMerge(ctx, rec)
		expectLimit(t, err, fmt.Sprintf("the recipe: %d bytes, at most 100 (Limits.RecipeBytes, hub serve --limit-recipe-bytes)", len(rec)))
	})
	t.Run("RecipeModels", func(t *testing.T) {
		hs := newHarness(t)
		hs.limited(hub.Limits{RecipeModels: 1})
		m := writeModels(t, hs.dir)
		_, err := hs.client.StartMerge(ctx, recipe(dirCID(t, m.base), []string{dirCID(t, m.ftA), dirCID(t, m.ftB)}, []float64{1, 1}))
		expectLimit(t, err, "the recipe: 2 models, at most 1 (Limits.RecipeModels, hub serve --limit-recipe-models): merge in stages")
	})
	t.Run("JobsPerOrg", func(t *testing.T) {
		js := newJobSetup(t, 1)
		js.hs.limited(hub.Limits{JobsPerOrg: 2})
		release := make(chan struct{})
		defer close(release)
		started, fn := blockFirst(release)
		js.hook.set(fn)
		for _, w := range []float64{0.5, 0.25} { // one running, one queued
			if _, err := js.hs.client.StartMerge(ctx, js.recipe(w)); err != nil {
				t.Fatal(err)
			}
		}
		within(t, started, "the first job")
		_, err := js.hs.client.StartMerge(ctx, js.recipe(0.125))
		expectLimit(t, err, "callers without a token: 2 merge jobs queued or running, at most 2 (Limits.JobsPerOrg, hub serve --limit-jobs-per-org): wait for them, or cancel some")
	})
	t.Run("HeaderBytes", func(t *testing.T) {
		hs := newHarness(t)
		hs.limited(hub.Limits{HeaderBytes: 64})
		m := writeModels(t, hs.dir)
		_, err := hs.registerBase(m.base, hs.keyA)
		st := grpcStatus(t, err)
		for _, w := range []string{"model-00001-of-00002.safetensors: hub: limit: safetensors header: ", " bytes, at most 64 (Limits.HeaderBytes, hub serve --limit-header-bytes)"} {
			if st.Code() != codes.ResourceExhausted || !strings.Contains(st.Message(), w) {
				t.Errorf("got %v %q, want ResourceExhausted saying %q", st.Code(), st.Message(), w)
			}
		}
	})
	t.Run("VerdictsPerOrgHour", func(t *testing.T) {
		hs := newHarness(t)
		hs.limited(hub.Limits{VerdictsPerOrgHour: 1})
		m := writeModels(t, hs.dir)
		bad := filepath.Join(hs.dir, "base-bad")
		copyDir(t, m.base, bad)
		setBaseElement(t, bad, garbageShard, garbageTensor, 3, 1e39) // Inf in bf16
		for range 3 {
			if _, err := hs.registerBase(bad, hs.keyA); grpcStatus(t, err).Code() != codes.InvalidArgument {
				t.Fatalf("a base holding Inf: %v, want InvalidArgument", err)
			}
		}
		if n := hs.loggedVerdicts(); n != 1 {
			t.Errorf("%d verdicts logged for three refusals, want 1 (the hourly limit)", n)
		}
	})
}

// loggedVerdicts counts the verdict entries in the log.
func (hs *harness) loggedVerdicts() int {
	n := 0
	for start := int64(0); ; {
		resp, err := hs.raw.GetEntries(context.Background(), &hubv1.GetEntriesRequest{Start: start, Count: 1000})
		if err != nil || len(resp.Entries) == 0 {
			return n
		}
		for _, b := range resp.Entries {
			if e, err := potluck.ParseEntry(b); err == nil {
				if _, ok := e.(*potluck.VerdictEntry); ok {
					n++
				}
			}
			start++
		}
	}
}
