package kernel

// The conversions between float32 and the 16-bit float formats. The 16-bit
// values are little-endian bytes, as tensors store them: src and dst hold
// two bytes per element.

// WidenBF16 converts little-endian bfloat16 values to float32, exactly
// (NaN payloads included). It panics unless len(src) == 2·len(dst).
func WidenBF16(dst []float32, src []byte) {
	mustLen("WidenBF16", len(src), 2*len(dst))
	widenBF16(dst, src)
}

// WidenF16 converts little-endian IEEE half-precision values to float32,
// exactly (subnormals become normal float32s; NaN payloads are kept, a
// signalling NaN stays signalling). It panics unless len(src) == 2·len(dst).
func WidenF16(dst []float32, src []byte) {
	mustLen("WidenF16", len(src), 2*len(dst))
	widenF16(dst, src)
}

// NarrowBF16 converts float32 values to little-endian bfloat16, rounding to
// nearest even; values past the largest bfloat16 become ±Inf, and a NaN
// stays a NaN (quiet bit set). It panics unless len(dst) == 2·len(src).
func NarrowBF16(dst []byte, src []float32) {
	mustLen("NarrowBF16", len(dst), 2*len(src))
	narrowBF16(dst, src)
}

// NarrowF16 converts float32 values to little-endian IEEE half precision,
// rounding to nearest even; values past 65504 become ±Inf, values below
// 2⁻²⁵ ±0, and a NaN stays a quiet NaN. It panics unless len(dst) ==
// 2·len(src).
func NarrowF16(dst []byte, src []float32) {
	mustLen("NarrowF16", len(dst), 2*len(src))
	narrowF16(dst, src)
}

// ReadF32 converts little-endian float32 bytes to float32 values, bit for
// bit. It panics unless len(src) == 4·len(dst).
func ReadF32(dst []float32, src []byte) {
	mustLen("ReadF32", len(src), 4*len(dst))
	readF32(dst, src)
}

// WriteF32 converts float32 values to little-endian bytes, bit for bit. It
// panics unless len(dst) == 4·len(src).
func WriteF32(dst []byte, src []float32) {
	mustLen("WriteF32", len(dst), 4*len(src))
	writeF32(dst, src)
}
