package store

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/potluck-hub/potluck/internal/testgen"
)

func TestVerifiedReadsAcrossChunks(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	for _, size := range []int64{0, 1, ChunkSize, 3*ChunkSize + 17} {
		content := testgen.Bytes(uint64(30+size), size)
		info := addCommit(t, s, content)
		v, err := s.OpenVerified(ctx, info.CID)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(io.NewSectionReader(v, 0, v.Size()))
		if err != nil || string(got) != string(content) {
			t.Fatalf("size %d: verified read differs (%v)", size, err)
		}
		if size > ChunkSize {
			p := make([]byte, 100)
			if _, err := v.ReadAt(p, ChunkSize-50); err != nil || string(p) != string(content[ChunkSize-50:ChunkSize+50]) {
				t.Errorf("read straddling a chunk edge differs: %v", err)
			}
			if n, err := v.ReadAt(p, size-10); n != 10 || err != io.EOF {
				t.Errorf("read past the end: %d, %v; want 10, EOF", n, err)
			}
		}
		v.Close()
	}
}

func TestVerifiedReadRefusesAlteredBytes(t *testing.T) {
	ctx := context.Background()
	s, dir := openStore(t)
	content := testgen.Bytes(40, 3*ChunkSize)
	info := addCommit(t, s, content)
	p := filepath.Join(dir, "files", info.CID.String())
	os.Chmod(p, 0o644)
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{content[2*ChunkSize+9] ^ 0x40}, 2*ChunkSize+9)
	f.Close()
	v, err := s.OpenVerified(ctx, info.CID)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	buf := make([]byte, ChunkSize)
	if _, err := v.ReadAt(buf, 0); err != nil {
		t.Fatalf("untouched first chunk: %v", err)
	}
	if _, err := v.ReadAt(buf[:4], 2*ChunkSize+100); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("read of the altered chunk, away from the altered byte: %v, want ErrCorrupt", err)
	}
}
