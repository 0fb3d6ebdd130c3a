package safetensors

import (
	"math"
	"math/bits"
)

// BF16ToF32 widens a bfloat16 to float32. Every bfloat16 is exactly a float32 with
// the low 16 bits zero, so this is exact, NaN payloads included.
func BF16ToF32(h uint16) float32 {
	return math.Float32frombits(uint32(h) << 16)
}

// F32ToBF16 narrows a float32 to bfloat16, rounding to nearest, ties to even.
// Values that round past the largest bfloat16 become ±Inf. A NaN stays a NaN even
// when its payload lies only in the dropped bits: the quiet bit is set.
func F32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7FFFFFFF > 0x7F800000 {
		return uint16(b>>16) | 0x0040
	}
	b += 0x7FFF + (b>>16)&1
	return uint16(b >> 16)
}

// F16ToF32 widens an IEEE 754 half-precision float to float32. It is exact:
// subnormal halves become normal float32s, and NaN payloads are kept.
func F16ToF32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1F
	mant := uint32(h & 0x3FF)
	switch {
	case exp == 0x1F:
		return math.Float32frombits(sign | 0x7F800000 | mant<<13)
	case exp != 0:
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	case mant == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal: shift the leading 1 up to the implicit bit, lowering the exponent
	// by one per shift from that of the smallest normal half (2^-14).
	shift := uint32(bits.LeadingZeros32(mant) - 21)
	return math.Float32frombits(sign | (127-14-shift)<<23 | (mant<<shift&0x3FF)<<13)
}

// F32ToF16 narrows a float32 to IEEE 754 half precision, rounding to nearest, ties
// to even. Values that round past 65504 become ±Inf, values below half the
// smallest subnormal (2^-25) become ±0, and a NaN stays a quiet NaN.
func F32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xFF
	mant := b & 0x7FFFFF
	switch {
	case exp == 0xFF && mant != 0:
		return sign | 0x7E00 | uint16(mant>>13)
	case exp-127+15 >= 0x1F:
		return sign | 0x7C00 // Inf, or finite but beyond every half
	case exp-127+15 <= 0:
		return sign | f16Subnormal(exp, mant)
	}
	h := uint32(exp-127+15)<<10 | mant>>13
	// Round on the 13 dropped bits; a carry out of the mantissa correctly bumps
	// the exponent, up to Inf (0x7C00) past 65504.
	if rem := mant & 0x1FFF; rem > 0x1000 || rem == 0x1000 && h&1 == 1 {
		h++
	}
	return sign | uint16(h)
}

// f16Subnormal rounds a float32 whose magnitude is below the smallest normal half
// to a half subnormal (possibly 0, or the smallest normal 0x0400 after rounding).
func f16Subnormal(exp int32, mant uint32) uint16 {
	if exp == 0 {
		return 0 // float32 zero or subnormal: far below 2^-25
	}
	// The value is m × 2^(exp-150); in units of 2^-24 it is m >> (126-exp).
	m := mant | 0x800000
	shift := uint32(126 - exp)
	if shift > 24 {
		return 0 // below 2^-25, less than half the smallest subnormal
	}
	h := m >> shift
	rem, half := m&(1<<shift-1), uint32(1)<<(shift-1)
	if rem > half || rem == half && h&1 == 1 {
		h++
	}
	return uint16(h)
}
