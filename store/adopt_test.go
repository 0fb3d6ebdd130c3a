package store

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	cid "github.com/ipfs/go-cid"

	"github.com/potluck-hub/potluck/internal/testgen"
)

// writeHashed writes content to a new file in pieces whose sizes cycle
// through sizes, hashing each piece as it is written, as a receiver does.
func writeHashed(t *testing.T, content []byte, sizes []int) (string, *Hasher) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "part")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := NewHasher()
	for i := 0; len(content) > 0; i++ {
		n := min(sizes[i%len(sizes)], len(content))
		if _, err := f.Write(content[:n]); err != nil {
			t.Fatal(err)
		}
		h.Write(content[:n])
		content = content[n:]
	}
	return p, h
}

// Pieces that fall across blocks and leaves in every way: single bytes,
// less than a block, a block and a bit, a leaf less one, 4 MiB (a chunk of
// an upload).
var pieceSizes = [][]int{{1 << 22}, {1, 63, 64, 65, ChunkSize - 1, 7}, {ChunkSize}, {100000, 3, 1 << 20}}

func TestAddFileHashedMatchesKubo(t *testing.T) {
	for _, fused := range []bool{true, false} {
		if fused && !fusedHashing {
			continue
		}
		for _, f := range loadVectors(t).Files {
			for i, sizes := range pieceSizes {
				t.Run(fmt.Sprintf("%s/fused=%v/pieces%d", f.Name, fused, i), func(t *testing.T) {
					defer func(v bool) { fusedHashing = v }(fusedHashing)
					fusedHashing = fused
					s, _ := openStore(t)
					content, _ := io.ReadAll(testgen.Reader(f.Seed, f.Size))
					p, h := writeHashed(t, content, sizes)
					st, err := s.AddFile(p, h)
					if err != nil {
						t.Fatal(err)
					}
					defer st.Discard()
					if got := st.Info.CID.String(); got != f.CID {
						t.Errorf("fused %v, pieces %v: CID %s, want %s", fused, sizes, got, f.CID)
					}
					if got := hex.EncodeToString(st.Info.SHA256[:]); got != f.SHA256 || st.Info.Size != f.Size {
						t.Errorf("fused %v, pieces %v: sha256 %s size %d, want %s %d", fused, sizes, got, st.Info.Size, f.SHA256, f.Size)
					}
					want, _ := HashFile(bytes.NewReader(content))
					if st.Info != want {
						t.Errorf("info %+v, HashFile %+v", st.Info, want)
					}
				})
			}
		}
	}
}

// Without a Hasher, or with one that saw other bytes than the file holds
// (a receiver restarted and resent a tail), the file is hashed in place.
func TestAddFileHashesInPlace(t *testing.T) {
	content := testgen.Bytes(31, 3*ChunkSize+5)
	want, _ := HashFile(bytes.NewReader(content))
	for name, h := range map[string]func(*Hasher) *Hasher{
		"no hasher": func(*Hasher) *Hasher { return nil },
		"short":     func(*Hasher) *Hasher { h := NewHasher(); h.Write(content[:ChunkSize]); return h },
	} {
		t.Run(name, func(t *testing.T) {
			s, _ := openStore(t)
			p, full := writeHashed(t, content, []int{1 << 20})
			st, err := s.AddFile(p, h(full))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Discard()
			if st.Info != want {
				t.Fatalf("info %+v, want %+v", st.Info, want)
			}
		})
	}
}

// An adopted file commits like an added one: invisible until then, every
// byte readable after, and the caller's name for it can go at once.
func TestAddFileCommit(t *testing.T) {
	ctx := context.Background()
	s, dir := openStore(t)
	content := testgen.Bytes(32, 2*ChunkSize+77)
	p, h := writeHashed(t, content, []int{4096})
	st, err := s.AddFile(p, h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(ctx, st.Info.CID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("staged file visible before commit: %v", err)
	}
	src, err1 := os.Stat(p)
	staged, err2 := os.Stat(st.data)
	if err := errors.Join(err1, err2); err != nil || !os.SameFile(src, staged) {
		t.Fatalf("the staged data is not the adopted file itself (a copy?): %v", err)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := st.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	f, err := s.Open(ctx, st.Info.CID)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := make([]byte, len(content))
	if _, err := f.ReadAt(got, 0); err != nil || !bytes.Equal(got, content) {
		t.Fatalf("read back: %v, equal %v", err, bytes.Equal(got, content))
	}
	for i := range 3 {
		if _, err := s.Block(ctx, mustLeaf(t, content, i)); err != nil {
			t.Errorf("leaf %d: %v", i, err)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "staging")); len(ents) != 0 {
		t.Errorf("staging holds %d entries after commit", len(ents))
	}
}

// Discarding an adopted file leaves the caller's file as it was.
func TestAddFileDiscardKeepsSource(t *testing.T) {
	s, dir := openStore(t)
	content := testgen.Bytes(33, ChunkSize+1)
	p, h := writeHashed(t, content, []int{ChunkSize})
	st, err := s.AddFile(p, h)
	if err != nil {
		t.Fatal(err)
	}
	st.Discard()
	if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, content) {
		t.Fatalf("source after discard: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "staging")); len(ents) != 0 {
		t.Errorf("staging holds %d entries after discard", len(ents))
	}
}

func mustLeaf(t *testing.T, content []byte, i int) cid.Cid {
	t.Helper()
	end := min((i+1)*ChunkSize, len(content))
	h := NewHasher()
	h.Write(content[i*ChunkSize : end])
	leaves, _ := h.sums()
	return rawLeafCID(leaves[0])
}
