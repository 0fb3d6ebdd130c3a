package hub_test

// The happy path, end to end: a base registered, a delta of it from each
// lab published, their merge, each listed, read by range and pulled back,
// verified and compared with the files it came from. The harness is in
// harness_test.go; refusals are in refused_test.go and malformed_test.go;
// restarts and damaged disks in persistence_test.go.

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/hub"
	"github.com/potluck-hub/potluck/internal/testmodel"
	"github.com/potluck-hub/potluck/node"
	"github.com/potluck-hub/potluck/signing"
	"github.com/potluck-hub/potluck/store"
)

// TestHappyPath checks, a subtest each, what a hub holding a base, lab-a's
// and lab-b's deltas of it and their merge serves. The hub is built once,
// before the subtests; none changes what another reads, so each also runs
// alone.
func TestHappyPath(t *testing.T) {
	hs := newHarness(t)
	ctx := context.Background()
	m, base, relA, relB := hs.baseAndTwoDeltas(t)
	deltaA := filepath.Join(hs.dir, "da")
	rec := recipe(base.CID, []string{relA.CID, relB.CID}, []float64{0.5, 0.5})
	merged, err := hs.client.Merge(ctx, rec)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("RegisterBase", func(t *testing.T) {
		if want := dirCID(t, m.base); base.CID != want {
			t.Fatalf("base CID %s, 'ipfs add -r' of the directory gives %s", base.CID, want)
		}
		if base.Kind != potluck.KindBase || base.Publisher != orgA {
			t.Errorf("base release: kind %v publisher %q, want BASE by %q", base.Kind, base.Publisher, orgA)
		}
		checkReleaseFiles(t, base, m.base)
	})

	t.Run("ListAndGetRelease", func(t *testing.T) {
		if want := dirCID(t, deltaA); relA.CID != want {
			t.Errorf("delta A CID %s, the directory's is %s", relA.CID, want)
		}
		deltas, err := hs.client.List(ctx, potluck.KindDelta, base.CID)
		if err != nil {
			t.Fatal(err)
		}
		var listed *potluck.Release
		for _, r := range deltas {
			if r.CID == relA.CID {
				listed = r
			}
			if r.Kind != potluck.KindDelta {
				t.Errorf("List(DELTA) returned a %v", r.Kind)
			}
		}
		if len(deltas) != 2 || listed == nil {
			t.Fatalf("List(DELTA, base) gave %d releases, delta A among them: %v", len(deltas), listed != nil)
		}
		got, err := hs.client.Release(ctx, relA.CID)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range []*potluck.Release{listed, got} {
			if r.Publisher != orgA || r.Base != base.CID || r.KeyHint != hs.pubA.Hint() {
				t.Errorf("delta A: publisher %q base %s key %s; want %q, %s, %s", r.Publisher, r.Base, r.KeyHint, orgA, base.CID, hs.pubA.Hint())
			}
			checkReleaseFiles(t, r, deltaA)
		}
		if relB.Publisher != orgB {
			t.Errorf("delta B publisher %q, want %q", relB.Publisher, orgB)
		}
		// The signature travels with the release: it verifies against A's key
		// over exactly the delta's files.
		v, err := signing.VerifyBundle(got.Bundle, []*signing.PublicKey{hs.pubA})
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Resources) != len(localFiles(t, deltaA)) {
			t.Errorf("the bundle signs %d files, the delta has %d", len(v.Resources), len(localFiles(t, deltaA)))
		}
	})

	t.Run("GetByteRange", func(t *testing.T) {
		shard := "model-00001-of-00002.safetensors"
		local, err := os.ReadFile(filepath.Join(deltaA, shard))
		if err != nil {
			t.Fatal(err)
		}
		// A range longer than one Get message (1 MiB), at an odd offset.
		off, n := uint64(12345), uint64(1<<20+777)
		if uint64(len(local)) < off+n {
			t.Fatalf("%s is %d bytes, too short for the test", shard, len(local))
		}
		got, err := hs.getRange(relA.CID, shard, off, n)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, local[off:off+n]) {
			t.Errorf("Get %s [%d, +%d): %d bytes that differ from the local file", shard, off, n, len(got))
		}
		// Length 0 reads to the end; by the file's own CID, without a path.
		tail, err := hs.getRange(releaseFile(t, relA, shard).CID, "", uint64(len(local))-100, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(tail, local[len(local)-100:]) {
			t.Errorf("Get by file CID, last 100 bytes: got %d bytes that differ", len(tail))
		}
		// Past the end is refused.
		_, err = hs.getRange(relA.CID, shard, uint64(len(local))-10, 11)
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("Get past the end: %v, want InvalidArgument", err)
		}
	})

	t.Run("Merge", func(t *testing.T) {
		if merged.Kind != potluck.KindMerge || merged.Base != base.CID || merged.Publisher != hub.HubOrg {
			t.Errorf("merge release: kind %v base %s publisher %q", merged.Kind, merged.Base, merged.Publisher)
		}
		again, err := hs.client.Merge(ctx, rec)
		if err != nil {
			t.Fatal(err)
		}
		if again.CID != merged.CID {
			t.Errorf("the same merge twice gave %s then %s", merged.CID, again.CID)
		}
		ms, err := hs.client.List(ctx, potluck.KindMerge, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 1 {
			t.Errorf("%d merge releases after merging the same recipe twice, want 1", len(ms))
		}
	})

	t.Run("PullMergeAndCheckValues", func(t *testing.T) {
		hubKey, err := signing.LoadPublicKey(filepath.Join(hs.data, "hub.pub"))
		if err != nil {
			t.Fatal(err)
		}
		info, err := hs.client.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.HubKey.Hint() != hubKey.Hint() {
			t.Fatalf("hub announces key %s, DATA/hub.pub is %s", info.HubKey.Hint(), hubKey.Hint())
		}
		out := filepath.Join(t.TempDir(), "pulled-merge")
		p, err := hs.client.Pull(ctx, merged.CID, out, []*signing.PublicKey{hubKey}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if p.Signed.Key.Hint() != hubKey.Hint() {
			t.Errorf("merge signed by %s, want the hub key %s", p.Signed.Key.Hint(), hubKey.Hint())
		}
		rep, err := node.VerifyDir(out, []*signing.PublicKey{hubKey})
		if err != nil {
			t.Fatalf("VerifyDir with the hub key: %v", err)
		}
		if rep.CID != merged.CID {
			t.Errorf("pulled directory has CID %s, the release %s", rep.CID, merged.CID)
		}
		if _, err := node.VerifyDir(out, []*signing.PublicKey{hs.pubA}); !errors.Is(err, signing.ErrUntrusted) {
			t.Errorf("VerifyDir of the merge with a member key only: %v, want ErrUntrusted", err)
		}
		checkMerge(t, readModel(t, m.base), readModel(t, out),
			[]map[string]tensorVals{readModel(t, m.ftA), readModel(t, m.ftB)}, []float64{0.5, 0.5})
	})

	t.Run("PullDelta", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "pulled-a")
		p, err := hs.client.Pull(ctx, relA.CID, out, []*signing.PublicKey{hs.pubA}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if p.Signed.Key.Hint() != hs.pubA.Hint() {
			t.Errorf("delta A signed by %s, want A's key", p.Signed.Key.Hint())
		}
		for path := range localFiles(t, deltaA) {
			want, _ := os.ReadFile(filepath.Join(deltaA, path))
			got, err := os.ReadFile(filepath.Join(out, path))
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("pulled %s differs from the published file (%v)", path, err)
			}
		}
		// Trusting only B's key, A's delta does not verify, and nothing appears.
		out2 := filepath.Join(t.TempDir(), "pulled-a-untrusted")
		if _, err := hs.client.Pull(ctx, relA.CID, out2, []*signing.PublicKey{hs.pubB}, nil); !errors.Is(err, signing.ErrUntrusted) {
			t.Errorf("pull of A's delta trusting B only: %v, want ErrUntrusted", err)
		}
		if _, err := os.Stat(out2); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a refused pull left %s: %v", out2, err)
		}
	})
}

// A release's CID is the one `ipfs add -r --cid-version=1` gives its
// directory, nested or not.
func TestDirectoriesInRelease(t *testing.T) {
	hs := newHarness(t)
	ctx := context.Background()
	spec := testmodel.Spec{Layers: 1, Hidden: 32, Vocab: 64, Shards: 1}
	t.Run("NestedFiles", func(t *testing.T) {
		dir := filepath.Join(hs.dir, "nested")
		if err := testmodel.WriteBase(dir, 5, spec); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, "tokenizer", "extra"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "tokenizer", "extra", "merges.txt"), []byte("a b\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		rel, err := hs.registerBase(dir, hs.keyA)
		if err != nil {
			t.Fatal(err)
		}
		want, err := store.HashDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if rel.CID != want.String() {
			t.Errorf("hub CID %s, 'ipfs add -r' gives %s", rel.CID, want)
		}
		out := filepath.Join(hs.dir, "nested-pulled")
		if _, err := hs.client.Pull(ctx, rel.CID, out, []*signing.PublicKey{hs.pubA}, nil); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(filepath.Join(out, "tokenizer", "extra", "merges.txt")); err != nil || string(b) != "a b\n" {
			t.Errorf("pulled nested file: %q, %v", b, err)
		}
	})
	t.Run("EmptyDirectory", func(t *testing.T) {
		dir := filepath.Join(hs.dir, "with-empty")
		if err := testmodel.WriteBase(dir, 6, spec); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(filepath.Join(dir, "empty"), 0o755); err != nil {
			t.Fatal(err)
		}
		// A release is its files: the hub could not give the CID 'ipfs add
		// -r' gives a tree with an empty folder, so the node refuses it,
		// naming the folder, before anything is sent.
		_, err := hs.registerBase(dir, hs.keyA)
		if err == nil || !strings.Contains(err.Error(), `"empty"`) || !strings.Contains(err.Error(), "empty directory") {
			t.Fatalf("register a base holding an empty directory: %v, want an error naming it", err)
		}
	})
}
