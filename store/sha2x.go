package store

import "encoding/binary"

// An import hashes every byte twice: into its chunk's leaf CID and into the
// file's SHA-256. Both digests read the same 64-byte blocks (a chunk is a
// whole number of blocks and starts on a block boundary of the file), so
// blocks2 runs SHA-256's compression for both over one pass of the block:
// the message schedule is computed once, and on CPUs with the SHA extensions
// the two digests' rounds interleave (sha2x_amd64.s), which costs little more
// than hashing once. go generate rebuilds the assembly from _asm.

//go:generate sh -c "cd _asm && go run . -out ../sha2x_amd64.s -pkg store"

// sha256IV is SHA-256's initial digest.
var sha256IV = [8]uint32{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19}

// fileHash is a file's SHA-256 fed chunk by chunk, in order, computing each
// chunk's own SHA-256 in the same pass.
type fileHash struct {
	h    [8]uint32
	n    uint64   // bytes hashed into h, whole blocks
	tail [64]byte // the file's last bytes after its last whole block
	nt   int
}

func newFileHash() *fileHash { return &fileHash{h: sha256IV} }

// chunk hashes data, the file's next chunk, into the file's digest and
// returns data's own SHA-256. Every chunk but the last must be a whole number
// of 64-byte blocks (ChunkSize is), since the file's digest carries no
// partial block from one chunk to the next.
func (f *fileHash) chunk(data []byte) [32]byte {
	if f.nt != 0 {
		panic("store: fileHash: a chunk after a short one")
	}
	whole := len(data) &^ 63
	leaf := sha256IV
	blocks2(&f.h, &leaf, data[:whole])
	f.n += uint64(whole)
	f.nt = copy(f.tail[:], data[whole:])
	return finish(leaf, uint64(whole), data[whole:])
}

// sum returns the file's SHA-256.
func (f *fileHash) sum() [32]byte { return finish(f.h, f.n, f.tail[:f.nt]) }

// finish pads a digest that has taken n bytes (whole blocks) and then rest
// (less than a block), and returns its SHA-256.
func finish(h [8]uint32, n uint64, rest []byte) [32]byte {
	var pad [128]byte
	k := copy(pad[:], rest)
	pad[k] = 0x80
	end := 64
	if k+1+8 > 64 {
		end = 128
	}
	binary.BigEndian.PutUint64(pad[end-8:end], (n+uint64(k))*8)
	var unused [8]uint32
	blocks2(&h, &unused, pad[:end])
	var sum [32]byte
	for i, v := range h {
		binary.BigEndian.PutUint32(sum[4*i:], v)
	}
	return sum
}
