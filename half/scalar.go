package half

import "math/bits"

// The scalar conversions, on bits: the reference the slice conversions
// apply element by element.

// BF16ToF32Bits widens bfloat16 h to float32 bits, exactly (NaN payloads
// included): a bfloat16 is the upper half of a float32.
func BF16ToF32Bits(h uint16) uint32 { return uint32(h) << 16 }

// F32ToBF16Bits rounds float32 bits b to bfloat16, to nearest, ties to
// even. Values that round past the largest bfloat16 become ±Inf. A NaN
// stays a NaN even when its payload lies only in the dropped bits: it is
// truncated and its quiet bit set.
func F32ToBF16Bits(b uint32) uint16 {
	if b&0x7FFFFFFF > 0x7F800000 {
		return uint16(b>>16) | 0x0040
	}
	b += 0x7FFF + (b>>16)&1
	return uint16(b >> 16)
}

// F16ToF32Bits widens IEEE half-precision h to float32 bits, exactly:
// subnormal halves become normal float32s, and NaN payloads are kept (a
// signalling NaN stays signalling).
func F16ToF32Bits(h uint16) uint32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1F
	mant := uint32(h & 0x3FF)
	switch {
	case exp == 0x1F:
		return sign | 0x7F800000 | mant<<13
	case exp != 0:
		return sign | (exp+127-15)<<23 | mant<<13
	case mant == 0:
		return sign
	}
	// Subnormal: shift the leading 1 up to the implicit bit.
	shift := uint32(bits.LeadingZeros32(mant) - 21)
	return sign | (127-14-shift)<<23 | (mant<<shift&0x3FF)<<13
}

// F32ToF16Bits rounds float32 bits b to IEEE half precision, to nearest,
// ties to even. Values that round past 65504 become ±Inf, values below
// half the smallest subnormal (2⁻²⁵) become ±0, and a NaN keeps its top
// payload bits and is quieted.
func F32ToF16Bits(b uint32) uint16 {
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xFF
	mant := b & 0x7FFFFF
	switch {
	case exp == 0xFF && mant != 0:
		return sign | 0x7E00 | uint16(mant>>13)
	case exp-127+15 >= 0x1F:
		return sign | 0x7C00
	case exp-127+15 <= 0:
		return sign | f16Subnormal(exp, mant)
	}
	h := uint32(exp-127+15)<<10 | mant>>13
	if rem := mant & 0x1FFF; rem > 0x1000 || rem == 0x1000 && h&1 == 1 {
		h++
	}
	return sign | uint16(h)
}

// f16Subnormal rounds a float32 below the smallest normal half to a half
// subnormal (possibly 0, or 0x0400 after rounding up).
func f16Subnormal(exp int32, mant uint32) uint16 {
	if exp == 0 {
		return 0
	}
	m := mant | 0x800000
	shift := uint32(126 - exp)
	if shift > 24 {
		return 0
	}
	h := m >> shift
	rem, half := m&(1<<shift-1), uint32(1)<<(shift-1)
	if rem > half || rem == half && h&1 == 1 {
		h++
	}
	return uint16(h)
}
