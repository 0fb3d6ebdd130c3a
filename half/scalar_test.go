package half

import (
	"math"
	"testing"
)

// The scalar conversions on float32 values, as the tests state them.
func bf16ToF32(h uint16) float32 { return math.Float32frombits(BF16ToF32Bits(h)) }
func f32ToBF16(f float32) uint16 { return F32ToBF16Bits(math.Float32bits(f)) }
func f16ToF32(h uint16) float32  { return math.Float32frombits(F16ToF32Bits(h)) }
func f32ToF16(f float32) uint16  { return F32ToF16Bits(math.Float32bits(f)) }

func f32bits(b uint32) float32 { return math.Float32frombits(b) }

func isNaNBF16(h uint16) bool { return h&0x7F80 == 0x7F80 && h&0x007F != 0 }
func isNaNF16(h uint16) bool  { return h&0x7C00 == 0x7C00 && h&0x03FF != 0 }

// Expected values are IEEE 754 facts, written as float32 bit patterns or as exact
// powers of two, not outputs of the code under test.
func TestBF16ToF32Known(t *testing.T) {
	tests := []struct {
		in   uint16
		want uint32
	}{
		{0x0000, 0x00000000}, // +0
		{0x8000, 0x80000000}, // -0
		{0x0001, math.Float32bits(float32(math.Ldexp(1, -133)))}, // smallest subnormal
		{0x7F7F, math.Float32bits(3.3895314e38)},                 // largest finite
		{0x7F80, 0x7F800000},                                     // +Inf
		{0xFF80, 0xFF800000},                                     // -Inf
		{0x3F80, math.Float32bits(1)},
		{0xC000, math.Float32bits(-2)},
	}
	for _, tt := range tests {
		if got := math.Float32bits(bf16ToF32(tt.in)); got != tt.want {
			t.Errorf("bf16ToF32(%#04x) = %#08x, want %#08x", tt.in, got, tt.want)
		}
	}
	if v := bf16ToF32(0x7FC0); !math.IsNaN(float64(v)) {
		t.Errorf("bf16ToF32(0x7FC0) = %v, want NaN", v)
	}
}

func TestF32ToBF16Known(t *testing.T) {
	tests := []struct {
		in   uint32
		want uint16
	}{
		{0x3F800000, 0x3F80},
		{0x80000000, 0x8000},
		{0x3F808000, 0x3F80}, // tie, 0x3F80 is even: stays
		{0x3F818000, 0x3F82}, // tie, 0x3F81 is odd: rounds up to even
		{0x3F808001, 0x3F81}, // above the tie: rounds up
		{0x3F807FFF, 0x3F80}, // below the tie: rounds down
		{0x7F7FFFFF, 0x7F80}, // max float32 rounds past the largest bfloat16
		{0xFF7FFFFF, 0xFF80},
		{0x7F800000, 0x7F80},
		{0x00000001, 0x0000}, // smallest float32 subnormal rounds to 0
		{0x00008000, 0x0000}, // tie between 0 and 0x0001: even
		{0x00018000, 0x0002},
	}
	for _, tt := range tests {
		if got := f32ToBF16(f32bits(tt.in)); got != tt.want {
			t.Errorf("f32ToBF16(%#08x) = %#04x, want %#04x", tt.in, got, tt.want)
		}
	}
	for _, nan := range []uint32{0x7F800001, 0xFF800001, 0x7FC00000, 0x7F80FFFF} {
		if got := f32ToBF16(f32bits(nan)); !isNaNBF16(got) {
			t.Errorf("f32ToBF16(%#08x) = %#04x, want a NaN", nan, got)
		}
	}
}

func TestF16ToF32Known(t *testing.T) {
	tests := []struct {
		in   uint16
		want float64
	}{
		{0x3C00, 1},
		{0xC000, -2},
		{0x7BFF, 65504},
		{0x0001, math.Ldexp(1, -24)},
		{0x03FF, math.Ldexp(1023, -24)},
		{0x0400, math.Ldexp(1, -14)},
		{0x3555, 0.333251953125},
		{0x7C00, math.Inf(1)},
		{0xFC00, math.Inf(-1)},
	}
	for _, tt := range tests {
		if got := f16ToF32(tt.in); float64(got) != tt.want {
			t.Errorf("f16ToF32(%#04x) = %v, want %v", tt.in, got, tt.want)
		}
	}
	if got := math.Float32bits(f16ToF32(0x8000)); got != 0x80000000 {
		t.Errorf("f16ToF32(0x8000) = %#08x, want -0", got)
	}
	if v := f16ToF32(0x7E00); !math.IsNaN(float64(v)) {
		t.Errorf("f16ToF32(0x7E00) = %v, want NaN", v)
	}
}

func TestF32ToF16Known(t *testing.T) {
	tests := []struct {
		in   float32
		want uint16
	}{
		{1, 0x3C00},
		{-2, 0xC000},
		{65504, 0x7BFF},
		{65519, 0x7BFF}, // below the midpoint to 65536
		{65520, 0x7C00}, // the midpoint: rounds to even, which is Inf
		{1e10, 0x7C00},  // overflow
		{-1e10, 0xFC00}, // overflow
		{float32(math.Ldexp(1, -24)), 0x0001},
		{float32(math.Ldexp(1, -14)), 0x0400},
		{float32(math.Ldexp(1, -25)), 0x0000},         // tie between 0 and 0x0001: even
		{float32(math.Ldexp(1.0000001, -25)), 0x0001}, // just above the tie
		{float32(math.Ldexp(3, -25)), 0x0002},         // tie between 0x0001 and 0x0002: even
		{float32(math.Ldexp(1023.5, -24)), 0x0400},    // tie rounds up into the normals
		{float32(math.Ldexp(1, -26)), 0x0000},
		{f32bits(0x80000000), 0x8000},
		{f32bits(0x00000001), 0x0000},
		{float32(math.Inf(1)), 0x7C00},
		{float32(math.Inf(-1)), 0xFC00},
		{1 + float32(math.Ldexp(1, -11)), 0x3C00}, // tie, 0x3C00 even
		{1 + float32(math.Ldexp(3, -11)), 0x3C02}, // tie, 0x3C01 odd
	}
	for _, tt := range tests {
		if got := f32ToF16(tt.in); got != tt.want {
			t.Errorf("f32ToF16(%v) = %#04x, want %#04x", tt.in, got, tt.want)
		}
	}
	for _, nan := range []uint32{0x7FC00000, 0x7F800001, 0xFF800001} {
		if got := f32ToF16(f32bits(nan)); !isNaNF16(got) {
			t.Errorf("f32ToF16(%#08x) = %#04x, want a NaN", nan, got)
		}
	}
}
