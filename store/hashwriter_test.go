package store

import (
	"testing"

	"github.com/potluck-hub/potluck/internal/testgen"
)

// TestHashWriterMatchesKubo writes each vector's bytes in pieces of sizes
// that straddle the 256 KiB leaves, and checks the CID and SHA-256 against
// the independent importer's.
func TestHashWriterMatchesKubo(t *testing.T) {
	for _, f := range loadVectors(t).Files {
		t.Run(f.Name, func(t *testing.T) {
			content := testgen.Bytes(f.Seed, f.Size)
			h := NewHashWriter()
			sizes := []int{1, 4095, ChunkSize + 3, 64, 1 << 20}
			for i := 0; len(content) > 0; i++ {
				n := min(sizes[i%len(sizes)], len(content))
				if m, err := h.Write(content[:n]); err != nil || m != n {
					t.Fatalf("write of %d bytes: %d, %v", n, m, err)
				}
				content = content[n:]
			}
			info, err := h.Sum()
			checkVector(t, f, info, err)
		})
	}
}

// TestHashWriterAbandon: a write after Abandon fails, and Abandon returns
// (once the hashing has stopped).
func TestHashWriterAbandon(t *testing.T) {
	h := NewHashWriter()
	if _, err := h.Write(testgen.Bytes(1, 3*ChunkSize)); err != nil {
		t.Fatal(err)
	}
	h.Abandon()
	if n, err := h.Write([]byte{1}); err == nil || n != 0 {
		t.Fatalf("write after Abandon: %d bytes, %v; want an error", n, err)
	}
}
