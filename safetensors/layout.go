package safetensors

import (
	"cmp"
	"math"
	"slices"
)

// byteSize returns the number of bytes a tensor of the given dtype and shape
// occupies, and false if that number does not fit in an int64. Any zero dimension
// makes the tensor empty, however large the other dimensions are.
func byteSize(dt DType, shape []int64) (int64, bool) {
	if slices.Contains(shape, 0) {
		return 0, true
	}
	n := int64(dt.Size())
	for _, d := range shape {
		if d < 0 || n > math.MaxInt64/d {
			return 0, false
		}
		n *= d
	}
	return n, true
}

// layoutTensors checks each entry against its dtype, shape and the data section,
// then checks that the tensors tile the data section exactly. It returns the
// tensors with absolute offsets, in file order.
func layoutTensors(raw []rawTensor, dataStart, dataLen int64) ([]TensorInfo, error) {
	infos := make([]TensorInfo, 0, len(raw))
	for _, r := range raw {
		if err := checkEntry(r, dataLen); err != nil {
			return nil, err
		}
		infos = append(infos, TensorInfo{
			Name:  r.name,
			DType: r.dtype,
			Shape: r.shape,
			Start: dataStart + r.begin,
			End:   dataStart + r.end,
		})
	}
	slices.SortFunc(infos, fileOrder)
	return infos, checkTiling(infos, dataStart, dataLen)
}

// fileOrder sorts tensors by their place in the file; the name breaks ties between
// empty tensors so that the order never depends on the header's key order.
func fileOrder(a, b TensorInfo) int {
	return cmp.Or(cmp.Compare(a.Start, b.Start), cmp.Compare(a.End, b.End),
		cmp.Compare(a.Name, b.Name))
}

// checkEntry checks one tensor's offsets against its dtype and shape and against
// the size of the data section.
func checkEntry(r rawTensor, dataLen int64) error {
	name := short(r.name)
	size, ok := byteSize(r.dtype, r.shape)
	switch {
	case !ok:
		return invalidf("tensor %q: shape %v × %s overflows int64 bytes", name, r.shape, r.dtype)
	case r.begin > r.end:
		return invalidf("tensor %q: data_offsets [%d %d] end before they begin",
			name, r.begin, r.end)
	case r.end-r.begin != size:
		return invalidf("tensor %q: shape %v × %s is %d bytes, data_offsets span %d",
			name, r.shape, r.dtype, size, r.end-r.begin)
	case r.end > dataLen:
		return invalidf("tensor %q: data_offsets end at %d, beyond the %d-byte data section (truncated file?)",
			name, r.end, dataLen)
	}
	return nil
}

// checkTiling requires tensors, sorted by offset, to start at 0, follow one
// another without gap or overlap, and end exactly at the end of the file, as the
// reference implementation does: no byte of the data section is unaccounted for.
func checkTiling(infos []TensorInfo, dataStart, dataLen int64) error {
	pos, prev := int64(0), ""
	for _, t := range infos {
		begin := t.Start - dataStart
		switch {
		case begin < pos:
			return invalidf("tensor %q: data_offsets [%d %d] overlap tensor %q, which ends at %d",
				short(t.Name), begin, t.End-dataStart, short(prev), pos)
		case begin > pos && prev == "":
			return invalidf("tensor %q: data_offsets begin at %d, leaving %d unused bytes at the start of the data section",
				short(t.Name), begin, begin)
		case begin > pos:
			return invalidf("tensor %q: data_offsets begin at %d, leaving %d unused bytes after tensor %q",
				short(t.Name), begin, begin-pos, short(prev))
		}
		pos, prev = t.End-dataStart, t.Name
	}
	if len(infos) == 0 && dataLen > 0 {
		return invalidf("data section has %d bytes but the header lists no tensors", dataLen)
	}
	if pos != dataLen {
		return invalidf("%d unused bytes after the last tensor (data section is %d bytes, tensors end at %d)",
			dataLen-pos, dataLen, pos)
	}
	return nil
}
