package half

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/potluck-hub/potluck/internal/isa"
	"github.com/potluck-hub/potluck/internal/simdtest"
)

// The slice conversions at the best level and the generic one against the
// scalar conversions (which scalar_test.go checks against known bit
// patterns and a float64 model), for every 16-bit pattern and a sample of
// float32s.

// atBothLevels runs fn at the level this machine chose, then forced
// generic.
func atBothLevels(fn func()) {
	fn()
	defer ForceGeneric()()
	fn()
}

func TestWidenMatchesScalar(t *testing.T) {
	src, dst := all16(), make([]float32, 1<<16)
	atBothLevels(func() {
		WidenBF16(dst, src)
		for h, v := range dst {
			if want := BF16ToF32Bits(uint16(h)); math.Float32bits(v) != want {
				t.Fatalf("%s: WidenBF16(%#04x) = %#08x, want %#08x", impl, h, math.Float32bits(v), want)
			}
		}
		WidenF16(dst, src)
		for h, v := range dst {
			if want := F16ToF32Bits(uint16(h)); math.Float32bits(v) != want {
				t.Fatalf("%s: WidenF16(%#04x) = %#08x, want %#08x", impl, h, math.Float32bits(v), want)
			}
		}
	})
}

func TestNarrowMatchesScalar(t *testing.T) {
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
	atBothLevels(func() {
		NarrowBF16(dst, src)
		for i, v := range src {
			if got, want := binary.LittleEndian.Uint16(dst[2*i:]), F32ToBF16Bits(math.Float32bits(v)); got != want {
				t.Fatalf("%s: NarrowBF16(%#08x) = %#04x, want %#04x", impl, math.Float32bits(v), got, want)
			}
		}
		NarrowF16(dst, src)
		for i, v := range src {
			if got, want := binary.LittleEndian.Uint16(dst[2*i:]), F32ToF16Bits(math.Float32bits(v)); got != want {
				t.Fatalf("%s: NarrowF16(%#08x) = %#04x, want %#04x", impl, math.Float32bits(v), got, want)
			}
		}
	})
}

func TestForceGeneric(t *testing.T) {
	before := impl
	restore := ForceGeneric()
	if impl != isa.Generic {
		t.Errorf("under ForceGeneric, the level is %s", impl)
	}
	restore()
	if impl != before {
		t.Errorf("after restore, the level is %s, want %s", impl, before)
	}
}

// TestLevels says which conversions this run checks (go test -v shows it).
func TestLevels(t *testing.T) { simdtest.ReportLevels(t) }
