package mlp

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// The safetensors format, as much of it as a float32 checkpoint needs: an
// 8-byte little-endian header length N, N bytes of a JSON object mapping
// each tensor's name to {"dtype", "shape", "data_offsets": [begin, end]}
// (byte offsets into the data that follows, which the tensors cover with
// neither gap nor overlap) and an optional "__metadata__" of strings, padded
// with spaces to a multiple of 8; then the data, little-endian.

// ErrFormat says that a checkpoint file is not what this package writes.
var ErrFormat = errors.New("mlp: bad checkpoint")

// maxHeader bounds the JSON header a reader accepts (the format's own limit).
const maxHeader = 100 << 20

type tensorInfo struct {
	DType       string `json:"dtype"`
	Shape       []int  `json:"shape"`
	DataOffsets [2]int `json:"data_offsets"`
}

// encodeSafetensors returns the file holding tensors, as F32, in name order.
func encodeSafetensors(tensors []Tensor[float32], metadata map[string]string) ([]byte, error) {
	tensors = slices.Clone(tensors)
	slices.SortFunc(tensors, func(a, b Tensor[float32]) int { return strings.Compare(a.Name, b.Name) })
	header := map[string]any{}
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	offset := 0
	for _, t := range tensors {
		if t.Name == "__metadata__" {
			return nil, fmt.Errorf("%w: a tensor cannot be named __metadata__", ErrFormat)
		}
		if numel(t.Shape) != len(t.Data) {
			return nil, fmt.Errorf("%w: tensor %s: shape %v holds %d values, data has %d", ErrFormat, t.Name, t.Shape, numel(t.Shape), len(t.Data))
		}
		header[t.Name] = tensorInfo{"F32", t.Shape, [2]int{offset, offset + 4*len(t.Data)}}
		offset += 4 * len(t.Data)
	}
	js, err := json.Marshal(header) // map keys come out sorted
	if err != nil {
		return nil, err
	}
	if pad := len(js) % 8; pad != 0 {
		js = append(js, bytes.Repeat([]byte(" "), 8-pad)...)
	}
	out := make([]byte, 8, 8+len(js)+offset)
	binary.LittleEndian.PutUint64(out, uint64(len(js)))
	out = append(out, js...)
	for _, t := range tensors {
		for _, v := range t.Data {
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
		}
	}
	return out, nil
}

// decodeSafetensors returns the F32 tensors in file and its metadata.
func decodeSafetensors(file []byte) (map[string]Tensor[float32], map[string]string, error) {
	if len(file) < 8 {
		return nil, nil, fmt.Errorf("%w: %d bytes, shorter than the 8-byte header length", ErrFormat, len(file))
	}
	n := binary.LittleEndian.Uint64(file)
	if n > maxHeader || n > uint64(len(file)-8) {
		return nil, nil, fmt.Errorf("%w: header of %d bytes in a file of %d", ErrFormat, n, len(file))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(file[8:8+n], &raw); err != nil {
		return nil, nil, fmt.Errorf("%w: header: %w", ErrFormat, err)
	}
	data := file[8+n:]
	var metadata map[string]string
	tensors := map[string]Tensor[float32]{}
	var spans [][2]int
	for name, js := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(js, &metadata); err != nil {
				return nil, nil, fmt.Errorf("%w: __metadata__: %w", ErrFormat, err)
			}
			continue
		}
		var info tensorInfo
		if err := json.Unmarshal(js, &info); err != nil {
			return nil, nil, fmt.Errorf("%w: tensor %s: %w", ErrFormat, name, err)
		}
		t, err := decodeTensor(name, info, data)
		if err != nil {
			return nil, nil, err
		}
		tensors[name] = t
		spans = append(spans, info.DataOffsets)
	}
	slices.SortFunc(spans, func(a, b [2]int) int { return a[0] - b[0] })
	end := 0
	for _, s := range spans {
		if s[0] != end {
			return nil, nil, fmt.Errorf("%w: data offsets leave a gap or overlap at byte %d", ErrFormat, end)
		}
		end = s[1]
	}
	if end != len(data) {
		return nil, nil, fmt.Errorf("%w: tensors cover %d bytes of data, file has %d", ErrFormat, end, len(data))
	}
	return tensors, metadata, nil
}

func decodeTensor(name string, info tensorInfo, data []byte) (Tensor[float32], error) {
	if info.DType != "F32" {
		return Tensor[float32]{}, fmt.Errorf("%w: tensor %s: dtype %s, want F32", ErrFormat, name, info.DType)
	}
	begin, end := info.DataOffsets[0], info.DataOffsets[1]
	if begin < 0 || end < begin || end > len(data) {
		return Tensor[float32]{}, fmt.Errorf("%w: tensor %s: data offsets [%d, %d] outside %d bytes", ErrFormat, name, begin, end, len(data))
	}
	count := numel(info.Shape)
	if count < 0 || 4*count != end-begin {
		return Tensor[float32]{}, fmt.Errorf("%w: tensor %s: shape %v needs %d bytes, offsets give %d", ErrFormat, name, info.Shape, 4*count, end-begin)
	}
	t := Tensor[float32]{Name: name, Shape: info.Shape, Data: make([]float32, count)}
	for i := range t.Data {
		t.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[begin+4*i:]))
	}
	return t, nil
}

// numel returns the number of elements of shape, or -1 if a dimension is
// negative or the count is absurd.
func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 || (d > 0 && n > (1<<40)/d) {
			return -1
		}
		n *= d
	}
	return n
}
