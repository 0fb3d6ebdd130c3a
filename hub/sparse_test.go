package hub_test

import (
	"encoding/binary"
	"math"
	"path/filepath"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/safetensors"
)

// A sparse delta (indices + values) is admitted; one whose indices do not
// increase, or fall outside the base tensor, is refused naming the tensor.
func TestSparseDeltaAdmission(t *testing.T) {
	hs := newHarness(t)
	m, base := hs.registeredBase(t)
	dense := filepath.Join(hs.dir, "dense")
	shard := tensorOf(t, makeDelta(t, m.base, m.ftA, dense, base.CID), "model.norm.weight").File
	for _, tc := range []struct {
		name string
		idx  []int64
		ok   bool
		want string
	}{
		{"good", []int64{0, 5, 200}, true, ""},
		{"decreasing", []int64{5, 0, 200}, false, "model.norm.weight"},
		{"outside", []int64{0, 5, 256}, false, "model.norm.weight"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(hs.dir, "sparse-"+tc.name)
			copyDir(t, dense, dir)
			writeSparse(t, dir, shard, "model.norm.weight", tc.idx, []float32{0.5, -0.25, 1e-3})
			if tc.ok {
				if _, err := hs.publish(dir, hs.keyA, base.CID); err != nil {
					t.Fatal(err)
				}
				return
			}
			hs.expectRefused(t, codes.InvalidArgument, []string{tc.want}, func() error {
				_, err := hs.publish(dir, hs.keyA, base.CID)
				return err
			})
		})
	}
}

// writeSparse turns one dense tensor of a delta shard into its sparse form
// and fixes the manifest (encoding "sparse" for the two entries).
func writeSparse(t *testing.T, dir, shard, name string, idx []int64, vals []float32) {
	t.Helper()
	path := filepath.Join(dir, shard)
	specs, data, _ := readShard(t, path)
	var outSpecs []safetensors.TensorSpec
	var outData [][]byte
	for i, sp := range specs {
		if sp.Name != name {
			outSpecs, outData = append(outSpecs, sp), append(outData, data[i])
			continue
		}
		ib := make([]byte, 8*len(idx))
		vb := make([]byte, 4*len(vals))
		for j := range idx {
			binary.LittleEndian.PutUint64(ib[8*j:], uint64(idx[j]))
			binary.LittleEndian.PutUint32(vb[4*j:], math.Float32bits(vals[j]))
		}
		k := int64(len(idx))
		outSpecs = append(outSpecs, safetensors.TensorSpec{Name: name + "#indices", DType: safetensors.I64, Shape: []int64{k}},
			safetensors.TensorSpec{Name: name + "#values", DType: safetensors.F32, Shape: []int64{k}})
		outData = append(outData, ib, vb)
	}
	writeShardFile(t, path, outSpecs, outData)
	remanifest(t, dir)
	mf, err := potluck.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range mf.Tensors {
		if mf.Tensors[i].Name == name+"#indices" || mf.Tensors[i].Name == name+"#values" {
			mf.Tensors[i].Encoding = "sparse"
		}
	}
	if err := mf.Write(dir); err != nil {
		t.Fatal(err)
	}
}
