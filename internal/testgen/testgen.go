// Package testgen makes deterministic test content that other tools can
// reproduce: the CID vectors in store/testdata were computed by an independent
// IPFS implementation over the same bytes.
package testgen

import (
	"encoding/binary"
	"io"
)

// SplitMix64 is Vigna's SplitMix64 generator; its output, as little-endian
// 8-byte words, is the content of our test files.
type SplitMix64 struct {
	state uint64
	buf   [8]byte
	left  int
}

// New returns a generator seeded with seed.
func New(seed uint64) *SplitMix64 { return &SplitMix64{state: seed} }

// Uint64 returns the next output.
func (g *SplitMix64) Uint64() uint64 {
	g.state += 0x9E3779B97F4A7C15
	z := g.state
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// Float64 returns a uniform value in [0, 1) from the top 53 bits.
func (g *SplitMix64) Float64() float64 {
	return float64(g.Uint64()>>11) / (1 << 53)
}

// Read fills p with the generator's byte stream; it never fails.
func (g *SplitMix64) Read(p []byte) (int, error) {
	for i := range p {
		if g.left == 0 {
			binary.LittleEndian.PutUint64(g.buf[:], g.Uint64())
			g.left = 8
		}
		p[i] = g.buf[8-g.left]
		g.left--
	}
	return len(p), nil
}

// Bytes returns the first n bytes of the stream for seed.
func Bytes(seed uint64, n int64) []byte {
	b := make([]byte, n)
	New(seed).Read(b)
	return b
}

// Reader returns the first n bytes of the stream for seed as a reader, for
// content too large to hold.
func Reader(seed uint64, n int64) io.Reader { return io.LimitReader(New(seed), n) }
