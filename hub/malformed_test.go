package hub_test

// Upload calls the hub refuses for how they are sent, driven by hand
// through the session RPCs: cut off, cancelled, bytes that do not match
// their digest, chunks out of place or too large, and calls missing their
// header or chunk. Each leaves nothing behind. Uploads refused for what
// they hold are in refused_test.go.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/potluck-hub/potluck/internal/testgen"
	"github.com/potluck-hub/potluck/internal/testmodel"
	"github.com/potluck-hub/potluck/node"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
)

// TestRefusedChunksLeaveNothing sends the good delta of a refusalSetup
// (or a big base) through sessions driven by hand, each with one defect in
// how its bytes arrive.
func TestRefusedChunksLeaveNothing(t *testing.T) {
	s := newRefusalSetup(t)
	hs, ctx := s.hs, context.Background()

	t.Run("CutOffUpload", func(t *testing.T) {
		h, files := s.goodUpload(t)
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
		h, files := s.goodUpload(t)
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
		h, files := s.goodUpload(t)
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
		h, files := s.goodUpload(t)
		want := fmt.Sprintf("chunk for file %q at 1, the hub holds 0 bytes of it", h.Files[0].GetPath())
		hs.expectRefused(t, codes.Aborted, []string{want}, func() error {
			s := rawStart(t, hs.raw, hubv1.ReleaseKind_RELEASE_KIND_DELTA, h)
			return s.send(ctx, &hubv1.Chunk{FileIndex: 0, Offset: 1, Data: files[0][1:1000]})
		})
	})

	t.Run("ChunkPastItsFile", func(t *testing.T) {
		h, files := s.goodUpload(t)
		size := len(files[0])
		want := fmt.Sprintf("chunk for file %q ends at %d, past its declared %d bytes", h.Files[0].GetPath(), size+1, size)
		hs.expectRefused(t, codes.InvalidArgument, []string{want}, func() error {
			s := rawStart(t, hs.raw, hubv1.ReleaseKind_RELEASE_KIND_DELTA, h)
			return s.send(ctx, &hubv1.Chunk{FileIndex: 0, Offset: 0, Data: append(slices.Clone(files[0]), 0)})
		})
	})

	t.Run("DataAfterTheLastFile", func(t *testing.T) {
		h, files := s.goodUpload(t)
		want := fmt.Sprintf("chunk for file %d (of %d) with 1 bytes", len(files), len(files))
		hs.expectRefused(t, codes.InvalidArgument, []string{want}, func() error {
			s := rawStart(t, hs.raw, hubv1.ReleaseKind_RELEASE_KIND_DELTA, h)
			extra := &hubv1.Chunk{FileIndex: uint32(len(files)), Offset: 0, Data: []byte{0}}
			return s.send(ctx, append(chunksOf(files, node.ChunkSize), extra)...)
		})
	})

	t.Run("ChunkOver4MiB", func(t *testing.T) {
		big := bigBase(t)
		_, bundle := scanAndBundle(t, big, hs.keyA)
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

	// The control, on a hub of its own (it changes the hub): the big base
	// sent by the node, in chunks of 4 MiB, is accepted.
	t.Run("Controls", func(t *testing.T) {
		hs := newHarness(t)
		if _, err := hs.registerBase(bigBase(t), hs.keyA); err != nil {
			t.Errorf("the big base in chunks of 4 MiB: %v", err)
		}
		if n := len(hs.snapshot().staging); n != 0 {
			t.Errorf("staging holds %d entries after a successful upload", n)
		}
	})
}

// bigBase writes a base with one file over 4 MiB, so that a chunk over the
// limit still fits inside its file.
func bigBase(t *testing.T) string {
	t.Helper()
	big := filepath.Join(t.TempDir(), "big-base")
	if err := testmodel.WriteBase(big, 7, testmodel.Spec{Layers: 1, Hidden: 32, Vocab: 64, Shards: 1}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(big, "blob.bin"), testgen.Bytes(9, 5<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	return big
}

// Malformed upload calls are bad input from the client, not a fault of
// the hub: a session opened with no header, a chunk stream with no chunk,
// a message carrying none (a second header, say) or naming another session.
func TestMalformedUploadCalls(t *testing.T) {
	hs := newHarness(t)
	ctx := context.Background()
	m := writeModels(t, hs.dir)
	_, bundle := scanAndBundle(t, m.base, hs.keyA)
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
