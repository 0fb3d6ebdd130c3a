package kernel_test

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/potluck-hub/potluck/merge/kernel"
	"github.com/potluck-hub/potluck/safetensors"
)

// The slice kernels at every level against the scalar conversions (the
// reference safetensors exposes and checks against known bit patterns and a
// float64 model in its own tests), for every 16-bit pattern and a sample of
// float32s.

func TestWidenMatchesSafetensors(t *testing.T) {
	src := make([]byte, 2<<16)
	for h := range 1 << 16 {
		binary.LittleEndian.PutUint16(src[2*h:], uint16(h))
	}
	dst := make([]float32, 1<<16)
	for _, force := range []bool{false, true} {
		restore := func() {}
		if force {
			restore = kernel.ForceGeneric()
		}
		kernel.WidenBF16(dst, src)
		for h, v := range dst {
			if want := safetensors.BF16ToF32(uint16(h)); math.Float32bits(v) != math.Float32bits(want) {
				t.Fatalf("WidenBF16(%#04x) = %#08x, want %#08x", h, math.Float32bits(v), math.Float32bits(want))
			}
		}
		kernel.WidenF16(dst, src)
		for h, v := range dst {
			if want := safetensors.F16ToF32(uint16(h)); math.Float32bits(v) != math.Float32bits(want) {
				t.Fatalf("WidenF16(%#04x) = %#08x, want %#08x", h, math.Float32bits(v), math.Float32bits(want))
			}
		}
		restore()
	}
}

func TestNarrowMatchesSafetensors(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	src := make([]float32, 1<<18)
	for i := range src {
		b := r.Uint32()
		if i%2 == 1 { // the 16-bit formats' ranges, densely
			b = b&0x807FFFFF | uint32(90+i%60)<<23
		}
		src[i] = math.Float32frombits(b)
	}
	dst := make([]byte, 2*len(src))
	for _, force := range []bool{false, true} {
		restore := func() {}
		if force {
			restore = kernel.ForceGeneric()
		}
		kernel.NarrowBF16(dst, src)
		for i, v := range src {
			if got, want := binary.LittleEndian.Uint16(dst[2*i:]), safetensors.F32ToBF16(v); got != want {
				t.Fatalf("NarrowBF16(%#08x) = %#04x, want %#04x", math.Float32bits(v), got, want)
			}
		}
		kernel.NarrowF16(dst, src)
		for i, v := range src {
			if got, want := binary.LittleEndian.Uint16(dst[2*i:]), safetensors.F32ToF16(v); got != want {
				t.Fatalf("NarrowF16(%#08x) = %#04x, want %#04x", math.Float32bits(v), got, want)
			}
		}
		restore()
	}
}

func TestForceGeneric(t *testing.T) {
	before := kernel.Implementation()
	restore := kernel.ForceGeneric()
	if got := kernel.Implementation(); got != "generic" {
		t.Errorf("under ForceGeneric, Implementation = %q", got)
	}
	restore()
	if got := kernel.Implementation(); got != before {
		t.Errorf("after restore, Implementation = %q, want %q", got, before)
	}
}
