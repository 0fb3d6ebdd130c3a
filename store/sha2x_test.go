package store

import (
	"crypto/sha256"
	"testing"

	"github.com/potluck-hub/potluck/internal/testgen"
)

// withGeneric runs fn with blocks2 forced to its generic twin.
func withGeneric(fn func()) {
	if !useSHANI {
		fn()
		return
	}
	useSHANI = false
	defer func() { useSHANI = true }()
	fn()
}

// TestFileHash checks both digests of fileHash against crypto/sha256, on
// the SHA-NI kernel and on the generic one, for files of one to three
// chunks ending at every offset around a block's padding boundary.
func TestFileHash(t *testing.T) {
	const chunk = 1024 // any whole number of blocks
	data := testgen.Bytes(31, 3*chunk)
	var sizes []int
	for n := range 130 {
		sizes = append(sizes, n, chunk+n, 2*chunk+n)
	}
	sizes = append(sizes, chunk-1, 2*chunk-1, 3*chunk)
	check := func(name string) {
		for _, n := range sizes {
			f := newFileHash()
			for off := 0; off < n; off += chunk {
				c := data[off:min(n, off+chunk)]
				if got, want := f.chunk(c), sha256.Sum256(c); got != want {
					t.Fatalf("%s: %d bytes: chunk at %d: %x, want %x", name, n, off, got, want)
				}
			}
			if got, want := f.sum(), sha256.Sum256(data[:n]); got != want {
				t.Fatalf("%s: file of %d bytes: %x, want %x", name, n, got, want)
			}
		}
	}
	check("dispatched")
	withGeneric(func() { check("generic") })
}

func BenchmarkBlocks2(b *testing.B) {
	data := testgen.Bytes(33, ChunkSize)
	b.SetBytes(ChunkSize)
	for b.Loop() {
		newFileHash().chunk(data)
	}
}

func BenchmarkSHA256(b *testing.B) {
	data := testgen.Bytes(33, ChunkSize)
	b.SetBytes(ChunkSize)
	for b.Loop() {
		sha256.Sum256(data)
	}
}

// FuzzFileHash compares fileHash with crypto/sha256 on any bytes cut into
// chunks of any whole number of blocks.
func FuzzFileHash(f *testing.F) {
	f.Add([]byte("abc"), uint8(1))
	f.Add(testgen.Bytes(34, 1000), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, blocks uint8) {
		chunk := 64 * (int(blocks)%8 + 1)
		h := newFileHash()
		for off := 0; off < len(data); off += chunk {
			c := data[off:min(len(data), off+chunk)]
			if got, want := h.chunk(c), sha256.Sum256(c); got != want {
				t.Fatalf("chunk at %d: %x, want %x", off, got, want)
			}
		}
		if got, want := h.sum(), sha256.Sum256(data); got != want {
			t.Fatalf("file: %x, want %x", got, want)
		}
	})
}
