package hub_test

import (
	"encoding/binary"
	"path/filepath"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/potluck-hub/potluck/hub"
	"github.com/potluck-hub/potluck/safetensors"
)

// negate flips the sign of every float value in a delta's shards, then
// rewrites its manifest: the same change, pulling the other way.
func negate(t *testing.T, dir string, shards []string) {
	t.Helper()
	for _, sh := range shards {
		rewriteShard(t, filepath.Join(dir, sh), func(specs []safetensors.TensorSpec, data [][]byte) {
			for i, sp := range specs {
				switch sp.DType {
				case safetensors.BF16, safetensors.F16:
					for j := 0; j+2 <= len(data[i]); j += 2 {
						binary.LittleEndian.PutUint16(data[i][j:], binary.LittleEndian.Uint16(data[i][j:])^0x8000)
					}
				case safetensors.F32:
					for j := 0; j+4 <= len(data[i]); j += 4 {
						binary.LittleEndian.PutUint32(data[i][j:], binary.LittleEndian.Uint32(data[i][j:])^0x80000000)
					}
				}
			}
		})
	}
	remanifest(t, dir)
}

// With cosine screening on, a delta pulling against the mean of the deltas
// already published for its base is refused with its similarity as reason;
// an unrelated fine-tune (similarity near 0) passes a bound of -0.5.
func TestCosineScreening(t *testing.T) {
	hs := newHarnessWith(t, func(o *hub.Options) {
		o.Screen = hub.Screening{MaxNormRatio: hub.DefaultMaxNormRatio, Cosine: true, MinCosine: -0.5, MinPeers: 1}
	})
	m, base := hs.registeredBase(t)
	da := filepath.Join(hs.dir, "da")
	man := makeDelta(t, m.base, m.ftA, da, base.CID)
	if _, err := hs.publish(da, hs.keyA, base.CID); err != nil {
		t.Fatalf("the first delta (no peers yet): %v", err)
	}
	db := filepath.Join(hs.dir, "db")
	makeDelta(t, m.base, m.ftB, db, base.CID)
	if _, err := hs.publish(db, hs.keyB, base.CID); err != nil {
		t.Fatalf("an unrelated fine-tune: %v", err)
	}
	var shards []string
	seen := map[string]bool{}
	for _, tn := range man.Tensors {
		if !seen[tn.File] {
			seen[tn.File] = true
			shards = append(shards, tn.File)
		}
	}
	neg := filepath.Join(hs.dir, "neg")
	copyDir(t, da, neg)
	negate(t, neg, shards)
	hs.expectRefused(t, codes.InvalidArgument, []string{"cosine similarity", "2 deltas"}, func() error {
		_, err := hs.publish(neg, hs.keyB, base.CID)
		return err
	})
}
