package hub

import (
	"encoding/binary"
	"io"
	"math"
	"testing"

	"github.com/potluck-hub/potluck/half"
	"github.com/potluck-hub/potluck/internal/testmodel"
	"github.com/potluck-hub/potluck/merge"
	"github.com/potluck-hub/potluck/safetensors"
)

// The norms the values stage takes while it reads a model (scanNorms) are
// the norm stage's own (tensorNorm), to the bit, and within float64
// rounding of a plain sum of squares; a tensor that is not bfloat16, half
// or float32 gets none, so the norm stage reads it itself.
func TestScanNormsAreTensorNorms(t *testing.T) {
	dir := t.TempDir()
	if err := testmodel.WriteBase(dir, 3, testmodel.Small); err != nil {
		t.Fatal(err)
	}
	m, err := merge.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	sums, norms, err := scanNorms(m, m.Names())
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[safetensors.DType]int{}
	for _, name := range m.Names() {
		tt, _ := m.Tensor(name)
		want, err := m.ScanTensor(name)
		if err != nil {
			t.Fatal(err)
		}
		if sums[name] != want {
			t.Errorf("tensor %q: digest differs from ScanTensor's", name)
		}
		got, ok := norms[name]
		float := tt.DType == safetensors.BF16 || tt.DType == safetensors.F16 || tt.DType == safetensors.F32
		if ok != float {
			t.Errorf("tensor %q (%s): norm taken %v", name, tt.DType, ok)
			continue
		}
		if !ok {
			continue
		}
		kinds[tt.DType]++
		tn, err := tensorNorm(m, name)
		if err != nil {
			t.Fatal(err)
		}
		if got != tn {
			t.Errorf("tensor %q: scanned norm %v, tensorNorm %v", name, got, tn)
		}
		raw, err := io.ReadAll(tt.Section())
		if err != nil {
			t.Fatal(err)
		}
		var ref float64
		for i := 0; i < len(raw); i += tt.DType.Size() {
			var v float64
			switch tt.DType {
			case safetensors.BF16:
				v = float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(raw[i:])) << 16))
			case safetensors.F16:
				v = float64(math.Float32frombits(half.F16ToF32Bits(binary.LittleEndian.Uint16(raw[i:]))))
			default:
				v = float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[i:])))
			}
			ref += v * v
		}
		if ref = math.Sqrt(ref); math.Abs(got-ref) > 1e-12*ref {
			t.Errorf("tensor %q: norm %v, a plain float64 sum gives %v", name, got, ref)
		}
	}
	if kinds[safetensors.BF16] == 0 || kinds[safetensors.F32] == 0 {
		t.Fatalf("the model should hold bf16 and f32 tensors: %v", kinds)
	}
}
