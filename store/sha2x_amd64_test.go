//go:build !purego

package store

import (
	"bytes"
	"testing"

	"github.com/potluck-hub/potluck/internal/testgen"
)

// TestBlocks2 checks the kernel against its generic twin with two unrelated
// digests, and that it leaves memory around them and past p's whole blocks
// alone.
func TestBlocks2(t *testing.T) {
	if !useSHANI {
		t.Skip("no SHA extensions here: blocks2 is the generic code")
	}
	data := testgen.Bytes(32, 64*40+17)
	for _, n := range []int{0, 1, 63, 64, 65, 128, 64 * 40, len(data)} {
		var a, b, ga, gb [10]uint32 // guards at [8] and [9]
		for i := range a {
			a[i], b[i] = uint32(i)*0x9e3779b9, ^uint32(i)*0x85ebca6b
		}
		ga, gb = a, b
		in := bytes.Clone(data[:n])
		blocks2SHANI((*[8]uint32)(a[:8]), (*[8]uint32)(b[:8]), in)
		blocks2Generic((*[8]uint32)(ga[:8]), (*[8]uint32)(gb[:8]), data[:n])
		if a != ga || b != gb {
			t.Errorf("%d bytes: SHA-NI %x %x, generic %x %x", n, a, b, ga, gb)
		}
		if !bytes.Equal(in, data[:n]) {
			t.Errorf("%d bytes: input changed", n)
		}
	}
}
