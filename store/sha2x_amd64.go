//go:build !purego

package store

import "golang.org/x/sys/cpu"

// useSHANI is decided once: the SHA extensions, and the SSE levels the
// kernel's shuffles need.
var useSHANI = cpu.X86.HasSSSE3 && cpu.X86.HasSSE41 && hasSHANI()

// fusedHashing: with blocks2SHANI, hashing both digests in one pass costs
// about what hashing once does, so one goroutine hashes every chunk
// (pipeline) and the other cores are left to reading and writing.
var fusedHashing = useSHANI

// blocks2SHANI equals blocks2Generic(a, b, p); it takes p's whole blocks.
//
//go:noescape
func blocks2SHANI(a, b *[8]uint32, p []byte)

func hasSHANI() bool

func blocks2(a, b *[8]uint32, p []byte) {
	if useSHANI {
		blocks2SHANI(a, b, p)
		return
	}
	blocks2Generic(a, b, p)
}
