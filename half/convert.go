package half

// The slice conversions. The encoded values are little-endian bytes, as
// tensors store them: two bytes per element for the 16-bit formats, four
// for float32. Each equals the loop in its doc comment, bit for bit.

// WidenBF16 converts little-endian bfloat16 values to float32, exactly
// (NaN payloads included):
//
//	for i := range dst {
//		dst[i] = math.Float32frombits(BF16ToF32Bits(binary.LittleEndian.Uint16(src[2*i:])))
//	}
//
// It panics unless len(src) == 2·len(dst).
func WidenBF16(dst []float32, src []byte) {
	mustLen("WidenBF16", len(src), 2*len(dst))
	widenBF16(dst, src)
}

// WidenF16 converts little-endian IEEE half-precision values to float32,
// exactly (subnormals become normal float32s; NaN payloads are kept, a
// signalling NaN stays signalling):
//
//	for i := range dst {
//		dst[i] = math.Float32frombits(F16ToF32Bits(binary.LittleEndian.Uint16(src[2*i:])))
//	}
//
// It panics unless len(src) == 2·len(dst).
func WidenF16(dst []float32, src []byte) {
	mustLen("WidenF16", len(src), 2*len(dst))
	widenF16(dst, src)
}

// NarrowBF16 converts float32 values to little-endian bfloat16, rounding to
// nearest even; values past the largest bfloat16 become ±Inf, and a NaN
// stays a NaN (quiet bit set):
//
//	for i, v := range src {
//		binary.LittleEndian.PutUint16(dst[2*i:], F32ToBF16Bits(math.Float32bits(v)))
//	}
//
// It panics unless len(dst) == 2·len(src).
func NarrowBF16(dst []byte, src []float32) {
	mustLen("NarrowBF16", len(dst), 2*len(src))
	narrowBF16(dst, src)
}

// NarrowF16 converts float32 values to little-endian IEEE half precision,
// rounding to nearest even; values past 65504 become ±Inf, values below
// 2⁻²⁵ ±0, and a NaN stays a quiet NaN:
//
//	for i, v := range src {
//		binary.LittleEndian.PutUint16(dst[2*i:], F32ToF16Bits(math.Float32bits(v)))
//	}
//
// It panics unless len(dst) == 2·len(src).
func NarrowF16(dst []byte, src []float32) {
	mustLen("NarrowF16", len(dst), 2*len(src))
	narrowF16(dst, src)
}

// ReadF32 converts little-endian float32 bytes to float32 values, bit for
// bit:
//
//	for i := range dst {
//		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
//	}
//
// It panics unless len(src) == 4·len(dst).
func ReadF32(dst []float32, src []byte) {
	mustLen("ReadF32", len(src), 4*len(dst))
	readF32(dst, src)
}

// WriteF32 converts float32 values to little-endian bytes, bit for bit:
//
//	for i, v := range src {
//		binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
//	}
//
// It panics unless len(dst) == 4·len(src).
func WriteF32(dst []byte, src []float32) {
	mustLen("WriteF32", len(dst), 4*len(src))
	writeF32(dst, src)
}
