package merge

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"math"

	"github.com/potluck-hub/potluck/safetensors"
)

// CheckDelta checks that every tensor of delta fits base: present there,
// same shape, both float. A sparse tensor (T#indices and T#values) must
// name a float tensor of the base; its indices are checked as it is read.
// A LoRA adapter is checked by CheckAdapter.
func CheckDelta(base, delta *Model) error {
	if IsAdapter(delta) {
		return CheckAdapter(base, delta)
	}
	sparse, dense, err := sparseTensors(delta)
	if err != nil {
		return err
	}
	for name := range sparse {
		bt, ok := base.Tensor(name)
		if !ok {
			return fmt.Errorf("%w: delta %s: sparse tensor %q is not in the base %s", ErrIncompatible, delta.Name, name, base.Name)
		}
		if !bt.DType.IsFloat() {
			return fmt.Errorf("%w: delta %s: sparse tensor %q over base %s; only float tensors merge", ErrIncompatible, delta.Name, name, bt.DType)
		}
	}
	for _, name := range dense {
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
	return m.scanTensor(name, true, nil, nil)
}

// ScanTensorValues is ScanTensor also giving each chunk's values, as
// float32 (off is the chunk's first element), to values: a caller that
// needs a statistic of them (a norm) reads the tensor once, not twice.
// values is called only for a bfloat16, half or float32 tensor, whose
// values widen exactly; it reports whether it was. Without digest the
// SHA-256 is not taken (sum is zero): a caller that does not use it (a
// base's admission) spares a third of the scan's work.
func (m *Model) ScanTensorValues(name string, digest bool, values func(off int64, vals []float32)) (sum [32]byte, called bool, err error) {
	t, ok := m.Tensor(name)
	called = ok && (t.DType == safetensors.BF16 || t.DType == safetensors.F16 || t.DType == safetensors.F32)
	if !called {
		values = nil
	}
	sum, err = m.scanTensor(name, digest, nil, values)
	return sum, called, err
}

// scanTensor is ScanTensor (the digest taken only when digest is set), the
// bytes also written to also and the values given to values when they are
// set.
func (m *Model) scanTensor(name string, digest bool, also io.Writer, values func(off int64, vals []float32)) ([32]byte, error) {
	var sum [32]byte
	t, ok := m.Tensor(name)
	if !ok {
		return sum, fmt.Errorf("merge: model %s: %w: %q", m.Name, safetensors.ErrNotFound, name)
	}
	var h hash.Hash
	if digest {
		h = sha256.New()
	}
	size := int64(t.DType.Size())
	raw := make([]byte, min(t.Size(), ChunkElems*size))
	vals := make([]float32, len(raw)/int(size))
	sec := t.Section()
	for off := int64(0); off < t.Size(); {
		n, err := io.ReadFull(sec, raw[:min(int64(len(raw)), t.Size()-off)])
		if err != nil {
			return sum, fmt.Errorf("merge: model %s: tensor %q: %w", m.Name, name, err)
		}
		if h != nil {
			h.Write(raw[:n])
		}
		if t.DType.IsFloat() {
			if i, v := firstNonFiniteRaw(raw[:n], t.DType, vals); i >= 0 {
				return sum, fmt.Errorf("%w: model %s: tensor %q: element %d is %v", ErrIncompatible, m.Name, name, off/size+int64(i), v)
			}
			if values != nil {
				values(off/size, vals[:n/int(size)])
			}
		}
		if also != nil {
			if _, err := also.Write(raw[:n]); err != nil {
				return sum, fmt.Errorf("merge: model %s: tensor %q: %w", m.Name, name, err)
			}
		}
		off += int64(n)
	}
	if h != nil {
		copy(sum[:], h.Sum(nil))
	}
	return sum, nil
}

// firstNonFiniteRaw returns the index and value of the first NaN or ±Inf
// among the little-endian values of dt in raw, or -1. F64 is checked as
// float64: a finite value beyond float32's range is no error. vals is scratch.
func firstNonFiniteRaw(raw []byte, dt safetensors.DType, vals []float32) (int, float64) {
	if dt == safetensors.F64 {
		for i := 0; i+8 <= len(raw); i += 8 {
			v := math.Float64frombits(binary.LittleEndian.Uint64(raw[i:]))
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return i / 8, v
			}
		}
		return -1, 0
	}
	k := len(raw) / dt.Size()
	if err := safetensors.DecodeFloat32(vals[:k], raw, dt); err != nil {
		return -1, 0
	}
	i := firstNonFinite(vals[:k])
	if i < 0 {
		return -1, 0
	}
	return i, float64(vals[i])
}

// CheckSparseIndices reads the indices of every sparse tensor of delta once
// (a block at a time) and checks they strictly increase and lie inside the
// base tensor, so a hub refuses a hostile sparse delta at admission rather
// than at its first merge.
func CheckSparseIndices(base, delta *Model) error {
	sparse, _, err := sparseTensors(delta)
	if err != nil {
		return err
	}
	for name, st := range sparse {
		bt, ok := base.Tensor(name)
		if !ok {
			return fmt.Errorf("%w: delta %s: sparse tensor %q is not in the base %s", ErrIncompatible, delta.Name, name, base.Name)
		}
		r := newSparseReader(delta, st, bt.NumElements())
		r.prev = -1
		for r.pos < r.k {
			if err := r.load(); err != nil {
				return err
			}
		}
	}
	return nil
}

func sameShape(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
