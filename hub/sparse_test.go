package hub_test

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/safetensors"
)

// A sparse delta (indices + values) is admitted; one whose indices do not
// increase, or fall outside the base tensor, is refused naming the tensor.
func TestSparseDeltaAdmission(t *testing.T) {
	hs := newHarness(t)
	m := writeModels(t, hs.dir)
	base, err := hs.registerBase(m.base, hs.keyA)
	if err != nil {
		t.Fatal(err)
	}
	dense := filepath.Join(hs.dir, "dense")
	man := makeDelta(t, m.base, m.ftA, dense, base.CID)
	var shard string
	for _, tn := range man.Tensors {
		if tn.Name == "model.norm.weight" {
			shard = tn.File
		}
	}
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
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var specs []safetensors.TensorSpec
	var data [][]byte
	for _, ti := range f.Tensors {
		if ti.Name == name {
			ib := make([]byte, 8*len(idx))
			vb := make([]byte, 4*len(vals))
			for j := range idx {
				binary.LittleEndian.PutUint64(ib[8*j:], uint64(idx[j]))
				binary.LittleEndian.PutUint32(vb[4*j:], math.Float32bits(vals[j]))
			}
			k := int64(len(idx))
			specs = append(specs, safetensors.TensorSpec{Name: name + "#indices", DType: safetensors.I64, Shape: []int64{k}},
				safetensors.TensorSpec{Name: name + "#values", DType: safetensors.F32, Shape: []int64{k}})
			data = append(data, ib, vb)
			continue
		}
		b, err := f.ReadTensor(ti.Name, nil)
		if err != nil {
			t.Fatal(err)
		}
		specs = append(specs, safetensors.TensorSpec{Name: ti.Name, DType: ti.DType, Shape: ti.Shape})
		data = append(data, slices.Clone(b))
	}
	f.Close()
	writeShardFile(t, path, specs, data)
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

func writeShardFile(t *testing.T, path string, specs []safetensors.TensorSpec, data [][]byte) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := safetensors.NewWriter(f, specs, map[string]string{"format": "pt"})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range data {
		if _, err := w.Write(d); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}
