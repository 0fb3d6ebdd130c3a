package hub

import (
	"encoding/binary"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"strings"
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
	m := openModel(t, smallBase(t))
	sums, norms, err := scanNorms(m, m.Names(), true)
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
	// Without digests (a base's admission): the same norms, no digests.
	noSums, same, err := scanNorms(m, m.Names(), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(noSums) != 0 || !maps.Equal(same, norms) {
		t.Errorf("without digests: %d digests, norms %v; want none, and %v", len(noSums), same, norms)
	}
}

// Of several tensors that are not finite, the scan names the first in
// the order asked, however the tensors are shared among its readers.
func TestScanNormsNamesTheFirstBadTensor(t *testing.T) {
	dir := smallBase(t)
	m := openModel(t, dir)
	names := m.Names()
	var bad []string // two bf16 tensors, spoilt with a NaN at element 1
	for _, name := range names[len(names)/3:] {
		if tt, _ := m.Tensor(name); tt.DType == safetensors.BF16 && len(bad) < 2 {
			bad = append(bad, name)
		}
	}
	if len(bad) < 2 {
		t.Fatalf("the model should hold two bf16 tensors past its first third: %v", names)
	}
	for _, name := range bad {
		spoilElement(t, dir, m, name, 1, []byte{0xC0, 0x7F}) // bf16 NaN
	}
	for range 20 {
		_, _, err := scanNorms(openModel(t, dir), names, true)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("tensor %q: element 1 is NaN", bad[0])) {
			t.Fatalf("scan: %v; want tensor %q's element 1 named", err, bad[0])
		}
	}
}

// smallBase writes a small base model (testmodel.Small) and returns its
// directory.
func smallBase(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := testmodel.WriteBase(dir, 3, testmodel.Small); err != nil {
		t.Fatal(err)
	}
	return dir
}

// openModel opens the model in dir, closed when the test ends.
func openModel(t *testing.T, dir string) *merge.Model {
	t.Helper()
	m, err := merge.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// spoilElement overwrites element i of tensor name (of m, opened from dir)
// with b.
func spoilElement(t *testing.T, dir string, m *merge.Model, name string, i int64, b []byte) {
	t.Helper()
	for _, sh := range m.Shards {
		for _, tt := range sh.Tensors {
			if tt.Name != name {
				continue
			}
			f, err := os.OpenFile(filepath.Join(dir, sh.Path), os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteAt(b, tt.Start+i*int64(len(b))); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("no tensor %q", name)
}
