package hub_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/potluck-hub/potluck/hub"
	"github.com/potluck-hub/potluck/internal/wire"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
)

// A release whose metadata is larger than one default gRPC message (4 MiB,
// here a merge whose recipe holds a weight gradient of 210,000 entries, 4 MB, as large as one call takes,
// kept whole in its provenance) is a release like any other: merged,
// fetched, pulled and verified, and listings page around it, so that
// listing works for every client, even one left at gRPC's default limit.
func TestReleaseLargerThanOneMessage(t *testing.T) {
	ctx := context.Background()
	hs := newHarness(t)
	hs.limited(hub.Limits{RecipeBytes: -1})
	_, base, d, _ := hs.baseAndDelta(t)
	grad := strings.TrimSuffix(strings.Repeat("0.123456789012345, ", 210_000), ", ")
	rec := fmt.Sprintf("merge_method: task_arithmetic\nbase_model: %s\nmodels:\n  - model: %s\n    parameters:\n      weight: [%s]\n", base.CID, d.CID, grad)
	merged, err := hs.client.Merge(ctx, []byte(rec))
	if err != nil {
		t.Fatal(err)
	}
	if n := proto.Size(wire.Release(merged)); n <= 4<<20 {
		t.Fatalf("a release of %d bytes: the test needs more than 4 MiB", n)
	}
	got, err := hs.client.Release(ctx, merged.CID)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if len(got.Provenance) != len(merged.Provenance) {
		t.Errorf("got provenance of %d bytes, merged %d", len(got.Provenance), len(merged.Provenance))
	}
	info, err := hs.client.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hs.client.Pull(ctx, merged.CID, filepath.Join(hs.dir, "pulled"), info.TrustedKeys(), nil); err != nil {
		t.Errorf("pull and verify: %v", err)
	}
	if got := hs.mustList(); len(got) != 3 {
		t.Errorf("listed %v, want 3 releases", got)
	}
	// A client at gRPC's default limit lists every other release, and the
	// large one alone on its page fails only that page.
	opts, err := hs.dial.GRPCOptions()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(hs.addr, append(opts, grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(4<<20)))...)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	plain := hubv1.NewHubServiceClient(conn)
	releases := 0
	for token := ""; ; {
		resp, err := plain.List(ctx, &hubv1.ListRequest{PageToken: token})
		if err != nil {
			break
		}
		releases += len(resp.Releases)
		if token = resp.NextPageToken; token == "" {
			break
		}
	}
	if releases < 2 {
		t.Errorf("a client at the default limit listed %d releases, want the two small ones", releases)
	}
}
