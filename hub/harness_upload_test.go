package hub_test

// Uploads built and sent by hand, as a broken or hostile client could send
// them: the header a correct client would send (uploadHeader), a session
// driven through StartUpload, UploadChunks and CommitUpload (rawStart,
// rawSession), files cut into chunks (chunksOf), a signature spoilt
// (flipSignatureByte), and what a hub keeps of its sessions (uploadsLeft).

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/internal/wire"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
	"github.com/potluck-hub/potluck/signing"
	"github.com/potluck-hub/potluck/store"
)

// uploadHeader is the header a correct client sends for dir: every file
// (model.sig aside) with its size, SHA-256 (computed here) and CID.
func uploadHeader(t *testing.T, dir string, bundle []byte, baseCID string) (*hubv1.UploadHeader, [][]byte) {
	t.Helper()
	scan, err := store.ScanDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	h := &hubv1.UploadHeader{Bundle: bundle, BaseCid: baseCID}
	var contents [][]byte
	for _, e := range scan.Files {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(e.Path)))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		h.Files = append(h.Files, &hubv1.FileEntry{Path: e.Path, Size: uint64(len(b)), Sha256: sum[:], Cid: e.File.CID.String()})
		contents = append(contents, b)
	}
	return h, contents
}

// rawSession is an upload session driven by hand through the session RPCs
// (StartUpload, UploadChunks, CommitUpload), as a broken or hostile client
// could drive it.
type rawSession struct {
	raw hubv1.HubServiceClient
	id  string
}

// rawStart opens an upload session of kind for h; the hub must accept it.
func rawStart(t *testing.T, raw hubv1.HubServiceClient, kind hubv1.ReleaseKind, h *hubv1.UploadHeader) rawSession {
	t.Helper()
	resp, err := raw.StartUpload(context.Background(), &hubv1.StartUploadRequest{Kind: kind, Header: h})
	if err != nil {
		t.Fatal(err)
	}
	return rawSession{raw: raw, id: resp.GetUploadId()}
}

// send streams chunks into the session in one UploadChunks call and
// returns the hub's answer. A send error (the hub has already answered)
// stops it: the answer comes when the stream closes.
func (s rawSession) send(ctx context.Context, chunks ...*hubv1.Chunk) error {
	st, err := s.raw.UploadChunks(ctx)
	if err != nil {
		return err
	}
	for _, c := range chunks {
		if st.Send(&hubv1.UploadChunksRequest{UploadId: s.id, Chunk: c}) != nil {
			break
		}
	}
	_, err = st.CloseAndRecv()
	return err
}

func (s rawSession) commit(ctx context.Context) (*potluck.Release, error) {
	resp, err := s.raw.CommitUpload(ctx, &hubv1.CommitUploadRequest{UploadId: s.id})
	if err != nil {
		return nil, err
	}
	return wire.ReleaseOf(resp.GetRelease())
}

// startRaw opens a session by hand for dir, signed by s, and sends the
// first n chunks of 64 KiB.
func startRaw(t *testing.T, raw hubv1.HubServiceClient, dir string, s *signing.Signer, n int) string {
	t.Helper()
	_, bundle := scanAndBundle(t, dir, s)
	h, files := uploadHeader(t, dir, bundle, "")
	session := rawStart(t, raw, hubv1.ReleaseKind_RELEASE_KIND_BASE, h)
	chunks := chunksOf(files, 64<<10)
	if err := session.send(context.Background(), chunks[:min(n, len(chunks))]...); err != nil {
		t.Fatal(err)
	}
	return session.id
}

// chunksOf cuts files into chunks of at most n bytes, in order; an empty
// file gives none.
func chunksOf(files [][]byte, n int) []*hubv1.Chunk {
	var out []*hubv1.Chunk
	for i, b := range files {
		for off := 0; off < len(b); off += n {
			out = append(out, &hubv1.Chunk{FileIndex: uint32(i), Offset: uint64(off), Data: b[off:min(off+n, len(b))]})
		}
	}
	return out
}

// flipSignatureByte alters one byte inside the DSSE signature of a bundle.
func flipSignatureByte(t *testing.T, bundle []byte) []byte {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal(bundle, &b); err != nil {
		t.Fatal(err)
	}
	sigs := b["dsseEnvelope"].(map[string]any)["signatures"].([]any)
	s0 := sigs[0].(map[string]any)
	sig, err := base64.StdEncoding.DecodeString(s0["sig"].(string))
	if err != nil {
		t.Fatal(err)
	}
	sig[len(sig)/2] ^= 0x01
	s0["sig"] = base64.StdEncoding.EncodeToString(sig)
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// uploadsLeft lists what is left of upload sessions in the hub's data folder.
func uploadsLeft(t *testing.T, hs *harness) []string {
	t.Helper()
	var left []string
	filepath.WalkDir(filepath.Join(hs.data, "uploads"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(p) == ".part" {
			left = append(left, p)
		}
		return nil
	})
	return left
}
