package hub_test

import (
	"encoding/binary"
	"math"
	"path/filepath"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/potluck-hub/potluck/safetensors"
)

// TestNormStageTakesTheValuesStagesRead: a float32 delta tensor far beyond
// its base tensor's norm is refused by the norm stage, naming it, when the
// norm comes from the values stage's read of the delta (a float64 tensor,
// as TestScreeningRulesGiveVerdicts writes, is read again by the norm
// stage itself).
func TestNormStageTakesTheValuesStagesRead(t *testing.T) {
	hs := newHarness(t)
	m, base := hs.registeredBase(t)
	const name = "model.layers.0.input_layernorm.weight"
	dir := filepath.Join(hs.dir, "delta-f32-norm")
	makeDelta(t, m.base, m.ftA, dir, base.CID)
	found := false
	for _, shard := range []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"} {
		rewriteShard(t, filepath.Join(dir, shard), func(specs []safetensors.TensorSpec, data [][]byte) {
			for i := range specs {
				if specs[i].Name != name {
					continue
				}
				if specs[i].DType != safetensors.F32 {
					t.Fatalf("%s is %s, the test wants float32", name, specs[i].DType)
				}
				found = true
				for j := 0; j+4 <= len(data[i]); j += 4 {
					binary.LittleEndian.PutUint32(data[i][j:], math.Float32bits(1e4))
				}
			}
		})
	}
	if !found {
		t.Fatalf("no shard holds %s", name)
	}
	remanifest(t, dir)
	hs.expectRefused(t, codes.InvalidArgument, []string{`tensor "` + name + `"`, "delta norm", "bound 10×"}, func() error {
		_, err := hs.publish(dir, hs.keyA, base.CID)
		return err
	})
}
