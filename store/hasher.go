package store

import (
	"crypto/sha256"
	"hash"
)

// Hasher computes a file's CID and SHA-256 from its bytes as they come, in
// order, in pieces of any size: a receiver that writes a file itself (the
// hub, an upload's part files) hashes each piece as it lands and later has
// the store adopt the file (AddFile) without reading it again. It keeps
// each 256 KiB leaf's digest (32 bytes per leaf, 128 KiB per GiB) and the
// running states, never the bytes; the DAG is laid out from the leaves when
// the file is adopted, by boxo's own layout, so the CID is what `ipfs add
// --cid-version=1` gives the same bytes. With the SHA extensions each block
// goes through both digests in one pass (blocks2), as an import's does.
//
// A Hasher is not safe for concurrent use; its zero value is not ready
// (NewHasher).
type Hasher struct {
	n      int64      // bytes written
	inLeaf int        // bytes of the current leaf written
	leaves [][32]byte // digests of the finished leaves

	// With the SHA extensions: both states over whole blocks, and the
	// bytes after the last whole block (shared: a leaf starts on a block).
	file, leaf [8]uint32
	tail       [64]byte
	nt         int

	// Without: the standard library's, one per digest (nil with them).
	fileH, leafH hash.Hash
}

// NewHasher returns a Hasher of an empty file.
func NewHasher() *Hasher {
	h := &Hasher{}
	if fusedHashing {
		h.file, h.leaf = sha256IV, sha256IV
	} else {
		h.fileH, h.leafH = sha256.New(), sha256.New()
	}
	return h
}

// Size returns how many bytes have been written.
func (h *Hasher) Size() int64 { return h.n }

// Write hashes p, the file's next bytes. It never fails.
func (h *Hasher) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		take := min(ChunkSize-h.inLeaf, len(p))
		h.hash(p[:take])
		p = p[take:]
		h.inLeaf += take
		h.n += int64(take)
		if h.inLeaf == ChunkSize {
			h.leaves = append(h.leaves, h.leafSum())
			h.inLeaf = 0
		}
	}
	return n, nil
}

// hash feeds q, which does not cross a leaf's end, to both digests.
func (h *Hasher) hash(q []byte) {
	if h.fileH != nil {
		h.fileH.Write(q)
		h.leafH.Write(q)
		return
	}
	if h.nt > 0 {
		c := copy(h.tail[h.nt:], q)
		h.nt += c
		q = q[c:]
		if h.nt < len(h.tail) {
			return
		}
		blocks2(&h.file, &h.leaf, h.tail[:])
		h.nt = 0
	}
	whole := len(q) &^ 63
	blocks2(&h.file, &h.leaf, q[:whole])
	h.nt = copy(h.tail[:], q[whole:])
}

// leafSum returns the current leaf's digest and starts the next leaf.
func (h *Hasher) leafSum() [32]byte {
	if h.fileH != nil {
		var d [32]byte
		h.leafH.Sum(d[:0])
		h.leafH.Reset()
		return d
	}
	d := finish(h.leaf, uint64(h.inLeaf-h.nt), h.tail[:h.nt])
	h.leaf = sha256IV
	return d
}

// sums returns the digests of every leaf (the last one short, if the file
// does not end on a leaf) and of the file. h is unchanged.
func (h *Hasher) sums() (leaves [][32]byte, file [32]byte) {
	leaves = h.leaves[:len(h.leaves):len(h.leaves)]
	if h.fileH != nil {
		if h.inLeaf > 0 {
			var d [32]byte
			leaves = append(leaves, [32]byte(h.leafH.Sum(d[:0])))
		}
		h.fileH.Sum(file[:0])
		return leaves, file
	}
	if h.inLeaf > 0 {
		leaves = append(leaves, finish(h.leaf, uint64(h.inLeaf-h.nt), h.tail[:h.nt]))
	}
	return leaves, finish(h.file, uint64(h.n)-uint64(h.nt), h.tail[:h.nt])
}
