package safetensors

import "fmt"

// DType names the element type of a tensor exactly as the header spells it.
type DType string

// The dtypes this package reads and writes. Every one has a whole number of bytes
// per element; the sub-byte dtypes of the reference implementation (F4, F6_*) are
// rejected because their byte ranges cannot be computed per element.
const (
	F64    DType = "F64"
	F32    DType = "F32"
	F16    DType = "F16"
	BF16   DType = "BF16"
	I64    DType = "I64"
	I32    DType = "I32"
	I16    DType = "I16"
	I8     DType = "I8"
	U64    DType = "U64"
	U32    DType = "U32"
	U16    DType = "U16"
	U8     DType = "U8"
	BOOL   DType = "BOOL"
	F8E4M3 DType = "F8_E4M3"
	F8E5M2 DType = "F8_E5M2"
	F8E8M0 DType = "F8_E8M0"
	C64    DType = "C64"
)

// ParseDType returns the dtype spelled s, or an error wrapping ErrInvalid that
// names s when this package does not know it.
func ParseDType(s string) (DType, error) {
	d, err := parseDType(s)
	if err != nil {
		return "", fmt.Errorf("safetensors: %w", err)
	}
	return d, nil
}

// parseDType is ParseDType without the package prefix, for use inside longer
// messages that already carry it.
func parseDType(s string) (DType, error) {
	d := DType(s)
	if d.Size() == 0 {
		return "", invalidf("unknown dtype %q", short(s))
	}
	return d, nil
}

// Size returns the number of bytes per element, or 0 for an unknown dtype.
func (d DType) Size() int {
	switch d {
	case F64, I64, U64, C64:
		return 8
	case F32, I32, U32:
		return 4
	case F16, BF16, I16, U16:
		return 2
	case I8, U8, BOOL, F8E4M3, F8E5M2, F8E8M0:
		return 1
	}
	return 0
}

// IsFloat reports whether d is one of the floating-point dtypes that DecodeFloat32
// and EncodeFloat32 convert (F64, F32, F16, BF16). The 8-bit float dtypes report
// false: they can be read and written as raw bytes but are not converted.
func (d DType) IsFloat() bool {
	switch d {
	case F64, F32, F16, BF16:
		return true
	}
	return false
}
