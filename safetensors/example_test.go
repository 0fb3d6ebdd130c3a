package safetensors_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/potluck-hub/potluck/safetensors"
)

// Write a small file with NewWriter, then open it and read one tensor back.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.safetensors")
	if err := writeExample(path); err != nil {
		log.Fatal(err)
	}

	f, err := safetensors.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	for _, t := range f.Tensors {
		fmt.Printf("%s %s %v at bytes [%d, %d)\n", t.Name, t.DType, t.Shape, t.Start, t.End)
	}
	raw, err := f.ReadTensor("embed", nil)
	if err != nil {
		log.Fatal(err)
	}
	vals := make([]float32, len(raw)/safetensors.BF16.Size())
	if err := safetensors.DecodeFloat32(vals, raw, safetensors.BF16); err != nil {
		log.Fatal(err)
	}
	fmt.Println(vals, f.Metadata["format"])
	// Output:
	// embed BF16 [2 2] at bytes [160, 168)
	// norm F32 [2] at bytes [168, 176)
	// [1 -2 0.5 65536] pt
}

// writeExample streams two tensors: the header goes out first, then each tensor's
// data in order, here converted from float32.
func writeExample(path string) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer out.Close()
	specs := []safetensors.TensorSpec{
		{Name: "embed", DType: safetensors.BF16, Shape: []int64{2, 2}},
		{Name: "norm", DType: safetensors.F32, Shape: []int64{2}},
	}
	w, err := safetensors.NewWriter(out, specs, map[string]string{"format": "pt"})
	if err != nil {
		return err
	}
	for _, t := range []struct {
		vals []float32
		dt   safetensors.DType
	}{{[]float32{1, -2, 0.5, 65536}, safetensors.BF16}, {[]float32{1, 1}, safetensors.F32}} {
		buf := make([]byte, len(t.vals)*t.dt.Size())
		if err := safetensors.EncodeFloat32(buf, t.vals, t.dt); err != nil {
			return err
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	return out.Close()
}
