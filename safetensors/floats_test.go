package safetensors

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

// Byte patterns below are little-endian IEEE encodings written out by hand:
// 1.0 is 0x3F800000 (F32), 0x3C00 (F16), 0x3F80 (BF16), 0x3FF0000000000000 (F64).
var floatCases = []struct {
	dt    DType
	bytes []byte
	vals  []float32
}{
	{F32, []byte{0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0, 0x00, 0x00, 0x80, 0x7F}, []float32{1, -2, float32(math.Inf(1))}},
	{F16, []byte{0x00, 0x3C, 0x00, 0xC0, 0xFF, 0x7B, 0x01, 0x00}, []float32{1, -2, 65504, float32(math.Ldexp(1, -24))}},
	{BF16, []byte{0x80, 0x3F, 0x00, 0xC0, 0x80, 0xFF}, []float32{1, -2, float32(math.Inf(-1))}},
	{F64, []byte{0, 0, 0, 0, 0, 0, 0xF0, 0x3F, 0, 0, 0, 0, 0, 0, 0x00, 0xC0}, []float32{1, -2}},
}

func TestDecodeFloat32(t *testing.T) {
	for _, c := range floatCases {
		got := make([]float32, len(c.vals))
		if err := DecodeFloat32(got, c.bytes, c.dt); err != nil {
			t.Fatalf("%s: %v", c.dt, err)
		}
		for i := range got {
			if got[i] != c.vals[i] {
				t.Errorf("%s[%d] = %v, want %v", c.dt, i, got[i], c.vals[i])
			}
		}
	}
}

func TestEncodeFloat32(t *testing.T) {
	for _, c := range floatCases {
		got := make([]byte, len(c.bytes))
		if err := EncodeFloat32(got, c.vals, c.dt); err != nil {
			t.Fatalf("%s: %v", c.dt, err)
		}
		if !bytes.Equal(got, c.bytes) {
			t.Errorf("%s: got % x, want % x", c.dt, got, c.bytes)
		}
	}
}

// F64 → F32 must round to nearest even: 1+2^-24 is halfway between 1 and the next
// float32 (1+2^-23) and goes to 1; anything above the halfway point goes up.
func TestDecodeF64Rounding(t *testing.T) {
	// 1+2^-24 is 0x3FF0000010000000; one more ulp of float64 is ...0001.
	src := []byte{
		0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0xF0, 0x3F,
		0x01, 0x00, 0x00, 0x10, 0x00, 0x00, 0xF0, 0x3F,
	}
	got := make([]float32, 2)
	if err := DecodeFloat32(got, src, F64); err != nil {
		t.Fatal(err)
	}
	if math.Float32bits(got[0]) != 0x3F800000 || math.Float32bits(got[1]) != 0x3F800001 {
		t.Errorf("got %#08x %#08x, want 0x3f800000 0x3f800001",
			math.Float32bits(got[0]), math.Float32bits(got[1]))
	}
}

func TestFloat32Errors(t *testing.T) {
	if err := DecodeFloat32(make([]float32, 1), make([]byte, 4), I32); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("DecodeFloat32(I32) = %v, want ErrUnsupported", err)
	}
	if err := EncodeFloat32(make([]byte, 1), make([]float32, 1), U8); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("EncodeFloat32(U8) = %v, want ErrUnsupported", err)
	}
	for _, n := range []int{0, 4, 7, 9, 12} { // 2 F32 elements need exactly 8 bytes
		if err := DecodeFloat32(make([]float32, 2), make([]byte, n), F32); err == nil {
			t.Errorf("DecodeFloat32 with %d bytes for 2 F32 succeeded", n)
		}
	}
	if err := DecodeFloat32(make([]float32, 1), make([]byte, 3), F16); err == nil {
		t.Error("DecodeFloat32 with 3 bytes of F16 succeeded")
	}
	if err := EncodeFloat32(make([]byte, 7), make([]float32, 1), F64); err == nil {
		t.Error("EncodeFloat32 into 7 bytes of F64 succeeded")
	}
}
