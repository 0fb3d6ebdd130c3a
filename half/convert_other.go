//go:build !amd64 || purego

package half

func widenBF16(dst []float32, src []byte)  { widenBF16Generic(dst, src) }
func widenF16(dst []float32, src []byte)   { widenF16Generic(dst, src) }
func narrowBF16(dst []byte, src []float32) { narrowBF16Generic(dst, src) }
func narrowF16(dst []byte, src []float32)  { narrowF16Generic(dst, src) }

func readF32(dst []float32, src []byte)  { readF32Generic(dst, src) }
func writeF32(dst []byte, src []float32) { writeF32Generic(dst, src) }
