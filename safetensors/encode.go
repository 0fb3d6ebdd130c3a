package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"maps"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// TensorSpec describes a tensor to be written; its offsets follow from the order
// of the specs.
type TensorSpec struct {
	Name  string
	DType DType
	Shape []int64
}

// HeaderSize returns the number of bytes before the data section of the file that
// NewWriter would write for tensors and metadata: 8 plus the padded header length.
func HeaderSize(tensors []TensorSpec, metadata map[string]string) (int64, error) {
	prefix, _, err := encodeHeader(tensors, metadata)
	return int64(len(prefix)), err
}

// encodeHeader returns the 8-byte length and header JSON that start the file, and
// the tensors with absolute offsets. The header is padded with spaces to a multiple
// of 8 bytes, as the reference writer does, so the data section is 8-byte aligned.
func encodeHeader(specs []TensorSpec, metadata map[string]string) ([]byte, []TensorInfo, error) {
	infos, err := planTensors(specs)
	if err != nil {
		return nil, nil, err
	}
	if err := checkMetadata(metadata); err != nil {
		return nil, nil, err
	}
	buf := bytes.NewBuffer(make([]byte, 8, 256))
	writeHeaderJSON(buf, infos, metadata)
	for buf.Len()%8 != 0 {
		buf.WriteByte(' ')
	}
	b := buf.Bytes()
	if len(b)-8 > MaxHeaderSize {
		return nil, nil, invalidf("header of %d bytes exceeds the limit of %d bytes", len(b)-8, MaxHeaderSize)
	}
	binary.LittleEndian.PutUint64(b, uint64(len(b)-8))
	for i := range infos {
		infos[i].Start += int64(len(b))
		infos[i].End += int64(len(b))
	}
	return b, infos, nil
}

// planTensors checks the specs and assigns consecutive offsets relative to the
// data section, in the order given.
func planTensors(specs []TensorSpec) ([]TensorInfo, error) {
	infos := make([]TensorInfo, len(specs))
	seen := make(map[string]bool, len(specs))
	pos := int64(0)
	for i, s := range specs {
		if err := checkSpec(s, seen); err != nil {
			return nil, err
		}
		size, ok := byteSize(s.DType, s.Shape)
		if !ok || size > math.MaxInt64-pos {
			return nil, invalidf("tensor %q: shape %v × %s overflows int64 bytes", s.Name, s.Shape, s.DType)
		}
		infos[i] = TensorInfo{s.Name, s.DType, slices.Clone(s.Shape), pos, pos + size}
		pos += size
	}
	return infos, nil
}

// checkSpec rejects a spec that would produce a header ReadHeader refuses.
func checkSpec(s TensorSpec, seen map[string]bool) error {
	switch {
	case s.Name == "" || s.Name == metadataKey || !utf8.ValidString(s.Name):
		return invalidf("invalid tensor name %q", s.Name)
	case seen[s.Name]:
		return invalidf("duplicate tensor name %q", s.Name)
	case s.DType.Size() == 0:
		return invalidf("tensor %q: unknown dtype %q", s.Name, s.DType)
	case slices.ContainsFunc(s.Shape, func(d int64) bool { return d < 0 }):
		return invalidf("tensor %q: negative dimension in shape %v", s.Name, s.Shape)
	}
	seen[s.Name] = true
	return nil
}

// checkMetadata rejects strings that JSON cannot carry unchanged.
func checkMetadata(metadata map[string]string) error {
	for k, v := range metadata {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return invalidf("%s: key %q or its value is not valid UTF-8", metadataKey, k)
		}
	}
	return nil
}

// writeHeaderJSON writes the header object: metadata first with sorted keys, then
// the tensors in the order given, each with fields in the reference order.
func writeHeaderJSON(buf *bytes.Buffer, infos []TensorInfo, metadata map[string]string) {
	buf.WriteByte('{')
	if len(metadata) > 0 {
		writeString(buf, metadataKey)
		buf.WriteString(":{")
		for i, k := range slices.Sorted(maps.Keys(metadata)) {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeString(buf, k)
			buf.WriteByte(':')
			writeString(buf, metadata[k])
		}
		buf.WriteByte('}')
	}
	for i, t := range infos {
		if i > 0 || len(metadata) > 0 {
			buf.WriteByte(',')
		}
		writeString(buf, t.Name)
		buf.WriteString(`:{"dtype":`)
		writeString(buf, string(t.DType))
		buf.WriteString(`,"shape":`)
		writeInts(buf, t.Shape...)
		buf.WriteString(`,"data_offsets":`)
		writeInts(buf, t.Start, t.End)
		buf.WriteByte('}')
	}
	buf.WriteByte('}')
}

// writeString writes s as a JSON string. Like the reference writer it leaves <, >
// and & unescaped, so names read back byte for byte as they appear in the file.
// Encoding a string cannot fail.
func writeString(buf *bytes.Buffer, s string) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	buf.Truncate(buf.Len() - 1) // the newline Encode appends
}

// writeInts writes a JSON array of integers.
func writeInts(buf *bytes.Buffer, vals ...int64) {
	buf.WriteByte('[')
	for i, v := range vals {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(strconv.AppendInt(buf.AvailableBuffer(), v, 10))
	}
	buf.WriteByte(']')
}
