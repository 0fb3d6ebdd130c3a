package hub_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/potluck-hub/potluck/node"
)

// A delta published without the base's CID has its base hashed while the
// delta is made; the hub is asked about the base as soon as it is hashed,
// and its refusal (a base it does not hold) stops the delta: the refusal is
// the preflight's, and --out never appears.
func TestPublishDeltaAsksAboutTheBaseOnceHashed(t *testing.T) {
	hs := newHarness(t)
	m := tinyModels(t, hs.dir)
	unknown := dirCID(t, m.base)
	out := filepath.Join(hs.dir, "never")
	before := dirNames(t, hs.dir)
	_, err := hs.client.PublishDelta(context.Background(), hs.keyA, node.DeltaOptions{BaseDir: m.base, FinetunedDir: m.ftA, OutDir: out}, node.UploadOptions{})
	if err == nil {
		t.Fatal("a delta of a base the hub does not hold was published")
	}
	st := grpcStatus(t, err)
	want := `preflight: hub: rejected: delta for base "` + unknown + `": hub: not found: release ` + unknown
	if st.Code() != codes.InvalidArgument || st.Message() != want {
		t.Errorf("refusal: %v %q\nwant      %v %q", st.Code(), st.Message(), codes.InvalidArgument, want)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("the refused publication wrote %s: %v", out, err)
	}
	if after := dirNames(t, hs.dir); len(after) != len(before) {
		t.Errorf("the refused publication left %v (before: %v)", after, before)
	}
}
