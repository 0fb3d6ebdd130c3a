package store

import (
	"bytes"
	"context"
	"testing"

	"github.com/potluck-hub/potluck/internal/testgen"
)

// BenchmarkHashFile measures CID + SHA-256 of 64 MiB in memory: the hashing
// cost of an import, with no disk.
func BenchmarkHashFile(b *testing.B) {
	content := testgen.Bytes(21, 64<<20)
	b.SetBytes(int64(len(content)))
	for b.Loop() {
		if _, err := HashFile(bytes.NewReader(content)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAddCommit measures a whole import of 64 MiB into a local store:
// staging file, sidecar, commit.
func BenchmarkAddCommit(b *testing.B) {
	content := testgen.Bytes(22, 64<<20)
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.SetBytes(int64(len(content)))
	i := 0
	for b.Loop() {
		content[0] = byte(i) // a new file each time
		i++
		st, err := s.Add(bytes.NewReader(content))
		if err != nil {
			b.Fatal(err)
		}
		if err := st.Commit(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
