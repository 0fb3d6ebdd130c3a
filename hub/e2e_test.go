package hub_test

// End-to-end tests of the hub; the harness they run on is in
// harness_test.go.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/hub"
	"github.com/potluck-hub/potluck/internal/testgen"
	"github.com/potluck-hub/potluck/internal/testmodel"
	"github.com/potluck-hub/potluck/node"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
	"github.com/potluck-hub/potluck/safetensors"
	"github.com/potluck-hub/potluck/signing"
	"github.com/potluck-hub/potluck/store"
)

func TestHappyPath(t *testing.T) {
	hs := newHarness(t)
	ctx := context.Background()
	m := writeModels(t, hs.dir)

	base, err := hs.registerBase(m.base, hs.keyA)
	if err != nil {
		t.Fatal(err)
	}
	if want := dirCID(t, m.base); base.CID != want {
		t.Fatalf("base CID %s, 'ipfs add -r' of the directory gives %s", base.CID, want)
	}
	if base.Kind != potluck.KindBase || base.Publisher != orgA {
		t.Errorf("base release: kind %v publisher %q, want BASE by %q", base.Kind, base.Publisher, orgA)
	}
	checkReleaseFiles(t, base, m.base)

	deltaA, deltaB := filepath.Join(hs.dir, "delta-a"), filepath.Join(hs.dir, "delta-b")
	makeDelta(t, m.base, m.ftA, deltaA, base.CID)
	makeDelta(t, m.base, m.ftB, deltaB, base.CID)
	relA, err := hs.publish(deltaA, hs.keyA, base.CID)
	if err != nil {
		t.Fatal(err)
	}
	relB, err := hs.publish(deltaB, hs.keyB, base.CID)
	if err != nil {
		t.Fatal(err)
	}

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
		var fileCID string
		for _, f := range relA.Files {
			if f.Path == shard {
				fileCID = f.CID
			}
		}
		tail, err := hs.getRange(fileCID, "", uint64(len(local))-100, 0)
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

	var merged *potluck.Release
	t.Run("Merge", func(t *testing.T) {
		rec := recipe(base.CID, []string{relA.CID, relB.CID}, []float64{0.5, 0.5})
		merged, err = hs.client.Merge(ctx, rec)
		if err != nil {
			t.Fatal(err)
		}
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
	if merged == nil {
		t.FailNow()
	}

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
		out := filepath.Join(hs.dir, "pulled-merge")
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
		out := filepath.Join(hs.dir, "pulled-a")
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
		out2 := filepath.Join(hs.dir, "pulled-a-untrusted")
		if _, err := hs.client.Pull(ctx, relA.CID, out2, []*signing.PublicKey{hs.pubB}, nil); !errors.Is(err, signing.ErrUntrusted) {
			t.Errorf("pull of A's delta trusting B only: %v, want ErrUntrusted", err)
		}
		if _, err := os.Stat(out2); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a refused pull left %s: %v", out2, err)
		}
	})
}

func TestRefusedUploadsLeaveNothing(t *testing.T) {
	hs := newHarness(t)
	ctx := context.Background()
	m := writeModels(t, hs.dir)
	base, err := hs.registerBase(m.base, hs.keyA)
	if err != nil {
		t.Fatal(err)
	}
	baseCID := base.CID
	// good is a valid delta of the registered base, never published here.
	good := filepath.Join(hs.dir, "good-delta")
	man := makeDelta(t, m.base, m.ftA, good, baseCID)
	const shard0 = "model-00001-of-00002.safetensors"

	// variant copies the good delta, lets alter change it, rewrites the
	// manifest to describe the altered files and signs the result with A's
	// key: everything about it is right but the alteration.
	n := 0
	variant := func(t *testing.T, alter func(dir string)) (*store.Dir, []byte) {
		n++
		dir := filepath.Join(hs.dir, fmt.Sprintf("variant-%d", n))
		copyDir(t, good, dir)
		alter(dir)
		remanifest(t, dir)
		return signDir(t, dir, hs.keyA)
	}

	t.Run("UnknownSigner", func(t *testing.T) {
		scan, bundle := signDir(t, good, hs.keyX)
		hs.expectRefused(t, codes.PermissionDenied, []string{"no trusted key"}, func() error {
			_, err := hs.client.Publish(ctx, scan, bundle, baseCID, nil)
			return err
		})
	})

	t.Run("BadSignature", func(t *testing.T) {
		scan, bundle := signDir(t, good, hs.keyA)
		bad := flipSignatureByte(t, bundle)
		hs.expectRefused(t, codes.PermissionDenied, []string{"signature does not verify"}, func() error {
			_, err := hs.client.Publish(ctx, scan, bad, baseCID, nil)
			return err
		})
	})

	t.Run("UnregisteredBase", func(t *testing.T) {
		// A real CID (of the fine-tune's directory) that names no release.
		other := dirCID(t, m.ftB)
		dir := filepath.Join(hs.dir, "delta-other-base")
		makeDelta(t, m.base, m.ftA, dir, other)
		scan, bundle := signDir(t, dir, hs.keyA)
		hs.expectRefused(t, codes.InvalidArgument, []string{other}, func() error {
			_, err := hs.client.Publish(ctx, scan, bundle, other, nil)
			return err
		})
	})

	t.Run("ShapeDiffersFromBase", func(t *testing.T) {
		const name = "model.layers.0.self_attn.q_proj.weight"
		scan, bundle := variant(t, func(dir string) {
			rewriteShard(t, filepath.Join(dir, shard0), func(specs []safetensors.TensorSpec, _ [][]byte) {
				for i := range specs {
					if specs[i].Name == name {
						if !slices.Equal(specs[i].Shape, []int64{256, 256}) {
							t.Fatalf("%s has shape %v, the test expects [256 256]", name, specs[i].Shape)
						}
						specs[i].Shape = []int64{128, 512} // same bytes, another shape
					}
				}
			})
		})
		hs.expectRefused(t, codes.InvalidArgument, []string{name, "[128 512]"}, func() error {
			_, err := hs.client.Publish(ctx, scan, bundle, baseCID, nil)
			return err
		})
	})

	t.Run("HostileSafetensorsHeader", func(t *testing.T) {
		scan, bundle := variant(t, func(dir string) {
			p := filepath.Join(dir, shard0)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			binary.LittleEndian.PutUint64(b, uint64(len(b))+100) // header longer than the file
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		})
		hs.expectRefused(t, codes.InvalidArgument, []string{shard0, "header length"}, func() error {
			_, err := hs.client.Publish(ctx, scan, bundle, baseCID, nil)
			return err
		})
	})

	t.Run("TruncatedShard", func(t *testing.T) {
		scan, bundle := variant(t, func(dir string) {
			p := filepath.Join(dir, shard0)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b[:len(b)/2], 0o644); err != nil { // header whole, data cut
				t.Fatal(err)
			}
		})
		hs.expectRefused(t, codes.InvalidArgument, []string{shard0, "truncated"}, func() error {
			_, err := hs.client.Publish(ctx, scan, bundle, baseCID, nil)
			return err
		})
	})

	t.Run("HostileHeaderInBase", func(t *testing.T) {
		dir := filepath.Join(hs.dir, "hostile-base")
		copyDir(t, m.ftB, dir) // another model, so a new base
		p := filepath.Join(dir, "model-00002-of-00002.safetensors")
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		binary.LittleEndian.PutUint64(b, 1<<62)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		hs.expectRefused(t, codes.InvalidArgument, []string{"model-00002-of-00002.safetensors", "header length"}, func() error {
			_, err := hs.registerBase(dir, hs.keyA)
			return err
		})
	})

	t.Run("CutOffUpload", func(t *testing.T) {
		_, bundle := signDir(t, good, hs.keyA)
		h, files := uploadHeader(t, good, bundle, baseCID)
		const piece = 64 << 10
		chunks := (len(files[0]) + piece - 1) / piece
		if chunks < 4 {
			t.Fatalf("first file has %d chunks of 64 KiB; the test needs several", chunks)
		}
		half := chunks / 2 * piece
		want := fmt.Sprintf("file %q has %d of its %d bytes", h.Files[0].GetPath(), half, len(files[0]))
		hs.expectRefused(t, codes.FailedPrecondition, []string{want}, func() error {
			s := rawStart(t, hs.raw, hubv1.ReleaseKind_RELEASE_KIND_DELTA, h)
			if err := s.send(ctx, chunksOf([][]byte{files[0][:half]}, piece)...); err != nil {
				t.Fatal(err)
			}
			_, err := s.commit(ctx)
			return err
		})
	})

	t.Run("CancelledUpload", func(t *testing.T) {
		_, bundle := signDir(t, good, hs.keyA)
		h, files := uploadHeader(t, good, bundle, baseCID)
		before := hs.snapshot()
		parts := len(uploadsLeft(t, hs))
		s := rawStart(t, hs.raw, hubv1.ReleaseKind_RELEASE_KIND_DELTA, h)
		cctx, cancel := context.WithCancel(ctx)
		st, err := hs.raw.UploadChunks(cctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range chunksOf([][]byte{files[0][:len(files[0])/2]}, 64<<10) {
			if st.Send(&hubv1.UploadChunksRequest{UploadId: s.id, Chunk: c}) != nil {
				break
			}
		}
		// Let the hub write some of the bytes before the cancel.
		deadline := time.Now().Add(5 * time.Second)
		for len(uploadsLeft(t, hs)) == parts && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		if _, err := st.CloseAndRecv(); status.Code(err) != codes.Canceled {
			t.Errorf("cancelled upload: %v, want Canceled", err)
		}
		// The hub notices the cancel on its own time: wait for the store to
		// settle, then compare.
		var d string
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if d = before.diff(hs.snapshot()); d == "" {
				break
			}
		}
		if d != "" {
			t.Errorf("the cancelled upload left something behind: %s", d)
		}
	})

	t.Run("BytesDoNotMatchDigest", func(t *testing.T) {
		_, bundle := signDir(t, good, hs.keyA)
		h, files := uploadHeader(t, good, bundle, baseCID)
		// Same length, other bytes: the header still declares (and the bundle
		// signs) the real file's digest.
		files[1] = slices.Clone(files[1])
		for i := range files[1] {
			files[1][i] ^= 0x5a
		}
		hs.expectRefused(t, codes.InvalidArgument, []string{"sha256", h.Files[1].GetPath()}, func() error {
			s := rawStart(t, hs.raw, hubv1.ReleaseKind_RELEASE_KIND_DELTA, h)
			if err := s.send(ctx, chunksOf(files, node.ChunkSize)...); err != nil {
				t.Fatal(err)
			}
			_, err := s.commit(ctx)
			return err
		})
	})

	t.Run("ChunkAtWrongOffset", func(t *testing.T) {
		_, bundle := signDir(t, good, hs.keyA)
		h, files := uploadHeader(t, good, bundle, baseCID)
		want := fmt.Sprintf("chunk for file %q at 1, the hub holds 0 bytes of it", h.Files[0].GetPath())
		hs.expectRefused(t, codes.Aborted, []string{want}, func() error {
			s := rawStart(t, hs.raw, hubv1.ReleaseKind_RELEASE_KIND_DELTA, h)
			return s.send(ctx, &hubv1.Chunk{FileIndex: 0, Offset: 1, Data: files[0][1:1000]})
		})
	})

	t.Run("ChunkPastItsFile", func(t *testing.T) {
		_, bundle := signDir(t, good, hs.keyA)
		h, files := uploadHeader(t, good, bundle, baseCID)
		size := len(files[0])
		want := fmt.Sprintf("chunk for file %q ends at %d, past its declared %d bytes", h.Files[0].GetPath(), size+1, size)
		hs.expectRefused(t, codes.InvalidArgument, []string{want}, func() error {
			s := rawStart(t, hs.raw, hubv1.ReleaseKind_RELEASE_KIND_DELTA, h)
			return s.send(ctx, &hubv1.Chunk{FileIndex: 0, Offset: 0, Data: append(slices.Clone(files[0]), 0)})
		})
	})

	t.Run("DataAfterTheLastFile", func(t *testing.T) {
		_, bundle := signDir(t, good, hs.keyA)
		h, files := uploadHeader(t, good, bundle, baseCID)
		want := fmt.Sprintf("chunk for file %d (of %d) with 1 bytes", len(files), len(files))
		hs.expectRefused(t, codes.InvalidArgument, []string{want}, func() error {
			s := rawStart(t, hs.raw, hubv1.ReleaseKind_RELEASE_KIND_DELTA, h)
			extra := &hubv1.Chunk{FileIndex: uint32(len(files)), Offset: 0, Data: []byte{0}}
			return s.send(ctx, append(chunksOf(files, node.ChunkSize), extra)...)
		})
	})

	// big is a base with one file over 4 MiB, so that a chunk over the limit
	// still fits inside its file.
	big := filepath.Join(hs.dir, "big-base")
	if err := testmodel.WriteBase(big, 7, testmodel.Spec{Layers: 1, Hidden: 32, Vocab: 64, Shards: 1}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(big, "blob.bin"), testgen.Bytes(9, 5<<20), 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("ChunkOver4MiB", func(t *testing.T) {
		d, err := store.ScanDir(big)
		if err != nil {
			t.Fatal(err)
		}
		bundle, err := node.Bundle(d, hs.keyA)
		if err != nil {
			t.Fatal(err)
		}
		h, files := uploadHeader(t, big, bundle, "")
		if h.Files[0].GetPath() != "blob.bin" {
			t.Fatalf("first file is %s, want blob.bin", h.Files[0].GetPath())
		}
		hs.expectRefused(t, codes.InvalidArgument, []string{"at most 4194304"}, func() error {
			s := rawStart(t, hs.raw, hubv1.ReleaseKind_RELEASE_KIND_BASE, h)
			// Every byte right and in order, but the first chunk is one byte
			// over the limit.
			const over = 4<<20 + 1
			return s.send(ctx, append([]*hubv1.Chunk{
				{FileIndex: 0, Offset: 0, Data: files[0][:over]},
				{FileIndex: 0, Offset: over, Data: files[0][over:]},
			}, chunksOf(append([][]byte{nil}, files[1:]...), node.ChunkSize)...)...)
		})
	})

	t.Run("NaNInDelta", func(t *testing.T) {
		const name = "model.layers.1.mlp.up_proj.weight"
		var tensor potluck.Tensor
		for _, tt := range man.Tensors {
			if tt.Name == name {
				tensor = tt
			}
		}
		if tensor.DType != "BF16" {
			t.Fatalf("%s: dtype %q in the manifest, the test expects BF16", name, tensor.DType)
		}
		scan, bundle := variant(t, func(dir string) {
			p := filepath.Join(dir, tensor.File)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			binary.LittleEndian.PutUint16(b[tensor.Offset+2*1000:], 0x7fc0) // element 1000: a quiet NaN
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		})
		hs.expectRefused(t, codes.InvalidArgument, []string{name, "NaN"}, func() error {
			_, err := hs.client.Publish(ctx, scan, bundle, baseCID, nil)
			return err
		})
	})

	// The controls: the same pipelines without the defect are accepted, so
	// the refusals above are the defects' doing.
	t.Run("Controls", func(t *testing.T) {
		scan, bundle := variant(t, func(string) {})
		rel, err := hs.client.Publish(ctx, scan, bundle, baseCID, nil)
		if err != nil {
			t.Fatalf("an unaltered variant: %v", err)
		}
		if rel.CID != dirCID(t, good) {
			t.Errorf("unaltered variant published as %s, the good delta's CID is %s", rel.CID, dirCID(t, good))
		}
		if _, err := hs.registerBase(big, hs.keyA); err != nil {
			t.Errorf("the big base in chunks of 4 MiB: %v", err)
		}
		before := len(hs.snapshot().staging)
		if before != 0 {
			t.Errorf("staging holds %d entries after successful uploads", before)
		}
	})
}

func TestPullDetectsBytesAlteredOnHubDisk(t *testing.T) {
	hs := newHarness(t)
	ctx := context.Background()
	m := writeModels(t, hs.dir)
	base, err := hs.registerBase(m.base, hs.keyA)
	if err != nil {
		t.Fatal(err)
	}
	delta := filepath.Join(hs.dir, "delta-a")
	makeDelta(t, m.base, m.ftA, delta, base.CID)
	rel, err := hs.publish(delta, hs.keyA, base.CID)
	if err != nil {
		t.Fatal(err)
	}
	var fileCID string
	for _, f := range rel.Files {
		if f.Path == "model-00002-of-00002.safetensors" {
			fileCID = f.CID
		}
	}
	if fileCID == "" {
		t.Fatal("delta has no model-00002-of-00002.safetensors")
	}
	// Before the damage, the pull works.
	if _, err := hs.client.Pull(ctx, rel.CID, filepath.Join(hs.dir, "ok"), []*signing.PublicKey{hs.pubA}, nil); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(hs.data, "store", "files", fileCID)
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x01
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}

	parent := filepath.Join(hs.dir, "pulls")
	if err := os.Mkdir(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(parent, "damaged")
	_, err = hs.client.Pull(ctx, rel.CID, out, []*signing.PublicKey{hs.pubA}, nil)
	if !errors.Is(err, node.ErrVerify) {
		t.Errorf("pull of a release altered on the hub's disk: %v, want node.ErrVerify", err)
	}
	if names := dirNames(t, parent); len(names) != 0 {
		t.Errorf("the failed pull left %v in %s", names, parent)
	}
}

func TestRestartKeepsReleasesAndKey(t *testing.T) {
	hs := newHarness(t)
	ctx := context.Background()
	m := writeModels(t, hs.dir)
	base, err := hs.registerBase(m.base, hs.keyA)
	if err != nil {
		t.Fatal(err)
	}
	var deltas []string
	for i, ft := range []string{m.ftA, m.ftB} {
		dir := filepath.Join(hs.dir, fmt.Sprintf("delta-%d", i))
		makeDelta(t, m.base, ft, dir, base.CID)
		rel, err := hs.publish(dir, []*signing.Signer{hs.keyA, hs.keyB}[i], base.CID)
		if err != nil {
			t.Fatal(err)
		}
		deltas = append(deltas, rel.CID)
	}
	rec := recipe(base.CID, deltas, []float64{1, 1})
	merged, err := hs.client.Merge(ctx, rec)
	if err != nil {
		t.Fatal(err)
	}
	info, err := hs.client.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	keyBefore := info.HubKey.Hint()
	listBefore, err := hs.client.List(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(listBefore) != 4 {
		t.Fatalf("%d releases before the restart, want 4", len(listBefore))
	}

	hs.stop()
	hs.start()

	info, err = hs.client.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.HubKey.Hint() != keyBefore {
		t.Errorf("hub key %s after the restart, %s before", info.HubKey.Hint(), keyBefore)
	}
	listAfter, err := hs.client.List(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(listAfter) != len(listBefore) {
		t.Fatalf("%d releases after the restart, %d before", len(listAfter), len(listBefore))
	}
	for i := range listBefore {
		b, a := listBefore[i], listAfter[i]
		if a.CID != b.CID || a.Publisher != b.Publisher || a.Kind != b.Kind || !bytes.Equal(a.Bundle, b.Bundle) {
			t.Errorf("release %d: %s %v by %q after, %s %v by %q before", i, a.CID, a.Kind, a.Publisher, b.CID, b.Kind, b.Publisher)
		}
	}
	for _, c := range append([]string{base.CID, merged.CID}, deltas...) {
		out := filepath.Join(hs.dir, "pulled-"+c)
		if _, err := hs.client.Pull(ctx, c, out, info.TrustedKeys(), nil); err != nil {
			t.Errorf("pull %s after the restart: %v", c, err)
		}
	}
	if _, err := node.VerifyDir(filepath.Join(hs.dir, "pulled-"+merged.CID), []*signing.PublicKey{info.HubKey}); err != nil {
		t.Errorf("merge pulled after the restart does not verify with the hub key: %v", err)
	}
	again, err := hs.client.Merge(ctx, rec)
	if err != nil {
		t.Fatal(err)
	}
	if again.CID != merged.CID {
		t.Errorf("the merge after the restart gives %s, before %s", again.CID, merged.CID)
	}
}

// Malformed upload calls are bad input from the client, not a fault of
// the hub: a session opened with no header, a chunk stream with no chunk,
// a message carrying none (a second header, say) or naming another session.
func TestMalformedUploadCalls(t *testing.T) {
	hs := newHarness(t)
	ctx := context.Background()
	m := writeModels(t, hs.dir)
	d, err := store.ScanDir(m.base)
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := node.Bundle(d, hs.keyA)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := uploadHeader(t, m.base, bundle, "")
	t.Run("NoHeader", func(t *testing.T) {
		hs.expectRefused(t, codes.InvalidArgument, []string{"start upload: a header or an upload id is needed"}, func() error {
			_, err := hs.raw.StartUpload(ctx, &hubv1.StartUploadRequest{Kind: hubv1.ReleaseKind_RELEASE_KIND_BASE})
			return err
		})
	})
	t.Run("NoMessageAtAll", func(t *testing.T) {
		hs.expectRefused(t, codes.InvalidArgument, []string{"upload chunks: the stream is empty"}, func() error {
			return rawSession{raw: hs.raw}.send(ctx)
		})
	})
	const notAChunk = "upload chunks: every message must carry a chunk of the stream's session"
	t.Run("MessageWithoutChunk", func(t *testing.T) {
		hs.expectRefused(t, codes.InvalidArgument, []string{notAChunk}, func() error {
			s := rawStart(t, hs.raw, hubv1.ReleaseKind_RELEASE_KIND_BASE, h)
			return s.send(ctx, &hubv1.Chunk{Data: []byte("x")}, nil)
		})
	})
	t.Run("ChunkOfAnotherSession", func(t *testing.T) {
		hs.expectRefused(t, codes.InvalidArgument, []string{notAChunk}, func() error {
			s, other := rawStart(t, hs.raw, hubv1.ReleaseKind_RELEASE_KIND_BASE, h), rawStart(t, hs.raw, hubv1.ReleaseKind_RELEASE_KIND_BASE, h)
			st, err := hs.raw.UploadChunks(ctx)
			if err != nil {
				t.Fatal(err)
			}
			st.Send(&hubv1.UploadChunksRequest{UploadId: s.id, Chunk: &hubv1.Chunk{Data: []byte("x")}})
			st.Send(&hubv1.UploadChunksRequest{UploadId: other.id, Chunk: &hubv1.Chunk{FileIndex: 1, Data: []byte("x")}})
			_, err = st.CloseAndRecv()
			return err
		})
	})
}

// A float64 delta tensor whose first element is finite but beyond float32's
// range must not hide a NaN that follows it: admission promises "every value
// is finite". The control (NaN alone) shows the hand-built float64 delta is
// otherwise checked.
func TestNaNAfterLargeFloat64IsRefused(t *testing.T) {
	hs := newHarness(t)
	m := writeModels(t, hs.dir)
	base, err := hs.registerBase(m.base, hs.keyA)
	if err != nil {
		t.Fatal(err)
	}
	const name = "model.norm.weight"
	for _, tc := range []struct {
		name  string
		first float64
	}{{"NaNAlone", 0.25}, {"NaNAfterLargeFinite", 1e300}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(hs.dir, "delta-"+tc.name)
			makeDelta(t, m.base, m.ftA, dir, base.CID)
			rewriteShard(t, filepath.Join(dir, "model-00002-of-00002.safetensors"), func(specs []safetensors.TensorSpec, data [][]byte) {
				for i := range specs {
					if specs[i].Name != name {
						continue
					}
					specs[i].DType = safetensors.F64
					vals := make([]byte, 8*specs[i].Shape[0])
					binary.LittleEndian.PutUint64(vals[0:], math.Float64bits(tc.first))
					binary.LittleEndian.PutUint64(vals[8:], math.Float64bits(math.NaN()))
					data[i] = vals
				}
			})
			remanifest(t, dir)
			hs.expectRefused(t, codes.InvalidArgument, []string{name, "NaN"}, func() error {
				_, err := hs.publish(dir, hs.keyA, base.CID)
				return err
			})
		})
	}
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

// The hub signs its merges: it must not sign one computed from stored bytes
// that no longer match their CIDs (DESIGN: a stored file is read by range
// and re-hashed). The bytes below are changed inside a delta's tensor data,
// where no header check can notice.
func TestMergeRefusesInputsAlteredOnHubDisk(t *testing.T) {
	hs := newHarness(t)
	ctx := context.Background()
	m := writeModels(t, hs.dir)
	base, err := hs.registerBase(m.base, hs.keyA)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(hs.dir, "delta")
	man := makeDelta(t, m.base, m.ftA, dir, base.CID)
	rel, err := hs.publish(dir, hs.keyA, base.CID)
	if err != nil {
		t.Fatal(err)
	}
	var tensor potluck.Tensor
	for _, tt := range man.Tensors {
		if tt.Name == "lm_head.weight" {
			tensor = tt
		}
	}
	var fileCID string
	for _, f := range rel.Files {
		if f.Path == tensor.File {
			fileCID = f.CID
		}
	}
	p := filepath.Join(hs.data, "store", "files", fileCID)
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[tensor.Offset+4*100+1] ^= 0x01 // a low mantissa bit of element 100: still finite
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	before := hs.snapshot()
	merged, err := hs.client.Merge(ctx, recipe(base.CID, []string{rel.CID}, []float64{1}))
	if err == nil {
		t.Fatalf("the hub merged and signed %s from a delta whose stored bytes do not match its CID", merged.CID)
	}
	if c := grpcStatus(t, err).Code(); c != codes.DataLoss {
		t.Errorf("merge over altered bytes: %v, want DataLoss", err)
	}
	if d := before.diff(hs.snapshot()); d != "" {
		t.Errorf("the refused merge left something behind: %s", d)
	}
}
