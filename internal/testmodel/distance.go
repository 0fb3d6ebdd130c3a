package testmodel

import (
	"fmt"
	"math"

	"github.com/potluck-hub/potluck/safetensors"
)

// RMSDistance is the root mean square of the element-wise difference of
// two models' float tensors (accumulated in float64), over the tensors of
// a; b must hold each with the same shape. The demo's labs attest it as
// the score of a merge against their own fine-tune.
func RMSDistance(a, b string) (float64, error) {
	ma, err := safetensors.OpenModel(a)
	if err != nil {
		return 0, err
	}
	defer ma.Close()
	mb, err := safetensors.OpenModel(b)
	if err != nil {
		return 0, err
	}
	defer mb.Close()
	var sum float64
	var n int64
	for _, t := range ma.Tensors() {
		if !t.DType.IsFloat() {
			continue
		}
		u, ok := mb.Tensor(t.Name)
		if !ok || u.NumElements() != t.NumElements() {
			return 0, fmt.Errorf("testmodel: %s: tensor %q is not in %s with %d elements", a, t.Name, b, t.NumElements())
		}
		x, err := readFloats(ma, t.Name, t.DType)
		if err != nil {
			return 0, err
		}
		y, err := readFloats(mb, u.Name, u.DType)
		if err != nil {
			return 0, err
		}
		for i := range x {
			d := float64(x[i]) - float64(y[i])
			sum += d * d
		}
		n += int64(len(x))
	}
	if n == 0 {
		return 0, fmt.Errorf("testmodel: %s has no float tensors", a)
	}
	return math.Sqrt(sum / float64(n)), nil
}

// readFloats reads a float tensor and widens it to float32.
func readFloats(m *safetensors.Model, name string, dt safetensors.DType) ([]float32, error) {
	raw, err := m.ReadTensor(name, nil)
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(raw)/dt.Size())
	return out, safetensors.DecodeFloat32(out, raw, dt)
}
