package merge

import (
	"crypto/sha256"
	"fmt"
	"io"
	"math"

	"github.com/potluck-hub/potluck/safetensors"
)

// CheckDelta checks that every tensor of delta fits base: present there,
// same shape, both float.
func CheckDelta(base, delta *Model) error {
	for _, name := range delta.Names() {
		dt, _ := delta.Tensor(name)
		bt, ok := base.Tensor(name)
		if !ok {
			return fmt.Errorf("%w: delta %s: tensor %q is not in the base %s", ErrIncompatible, delta.Name, name, base.Name)
		}
		if !sameShape(dt.Shape, bt.Shape) {
			return fmt.Errorf("%w: delta %s: tensor %q: shape %v, base has %v", ErrIncompatible, delta.Name, name, dt.Shape, bt.Shape)
		}
		if !dt.DType.IsFloat() || !bt.DType.IsFloat() {
			return fmt.Errorf("%w: delta %s: tensor %q: dtype %s over base %s; only float tensors merge", ErrIncompatible, delta.Name, name, dt.DType, bt.DType)
		}
	}
	return nil
}

// ScanTensor reads a tensor once, chunk by chunk, returning the SHA-256 of
// its bytes and an error naming the first NaN or ±Inf element of a float
// tensor.
func (m *Model) ScanTensor(name string) ([32]byte, error) {
	var sum [32]byte
	t, ok := m.Tensor(name)
	if !ok {
		return sum, fmt.Errorf("merge: model %s: %w: %q", m.Name, safetensors.ErrNotFound, name)
	}
	h := sha256.New()
	size := int64(t.DType.Size())
	raw := make([]byte, min(t.Size(), ChunkElems*size))
	vals := make([]float32, len(raw)/int(size))
	sec := t.Section()
	for off := int64(0); off < t.Size(); {
		n, err := io.ReadFull(sec, raw[:min(int64(len(raw)), t.Size()-off)])
		if err != nil {
			return sum, fmt.Errorf("merge: model %s: tensor %q: %w", m.Name, name, err)
		}
		h.Write(raw[:n])
		if t.DType.IsFloat() {
			k := n / int(size)
			if err := safetensors.DecodeFloat32(vals[:k], raw[:n], t.DType); err != nil {
				return sum, err
			}
			if i := firstNonFinite(vals[:k]); i >= 0 && !(t.DType == safetensors.F64 && isFiniteF64(raw[i*8:])) {
				return sum, fmt.Errorf("%w: model %s: tensor %q: element %d is %v", ErrIncompatible, m.Name, name, off/size+int64(i), vals[i])
			}
		}
		off += int64(n)
	}
	copy(sum[:], h.Sum(nil))
	return sum, nil
}

// isFiniteF64 tells a finite float64 that overflowed float32 from a real
// NaN or Inf.
func isFiniteF64(b []byte) bool {
	bits := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
	v := math.Float64frombits(bits)
	return !math.IsNaN(v) && !math.IsInf(v, 0)
}
