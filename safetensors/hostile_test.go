package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// entry builds one tensor entry of a hand-written header.
func entry(name, dtype, shape, offsets string) string {
	return `"` + name + `":{"dtype":"` + dtype + `","shape":` + shape + `,"data_offsets":` + offsets + `}`
}

// lengthPrefix returns a bare 8-byte header length with nothing after it.
func lengthPrefix(n uint64) []byte { return binary.LittleEndian.AppendUint64(nil, n) }

func TestReadHeaderHostile(t *testing.T) {
	a8 := entry("a", "F32", "[2]", "[0,8]")
	tests := []struct {
		name string
		file []byte
		want string // a fragment the error must contain
	}{
		{"short file", []byte{1, 0, 0}, "file is 3 bytes, too short"},
		{"zero length", lengthPrefix(0), "header length is 0"},
		{"over limit", append(lengthPrefix(MaxHeaderSize+1), "{}"...), "exceeds the limit of 100000000"},
		{"truncated header", append(lengthPrefix(100), "{}"...), "header length 100 needs a file of at least 108 bytes, file is 10 bytes"},
		{"not an object", assemble(`[]`, nil), "must start with '{'"},
		{"leading space", assemble(` {}`, nil), "must start with '{'"},
		{"unterminated", assemble(`{"a":`, nil), "ends early"},
		{"bad syntax", assemble(`{"a" 1}`, nil), "header JSON: invalid character"},
		{"trailing object", assemble(`{}{}`, nil), "data after its closing '}'"},
		{"trailing garbage", assemble(`{} x`, nil), "data after its closing '}'"},
		{"invalid utf-8", assemble("{\"\xff\":1}", nil), "not valid UTF-8"},
		{"duplicate tensor", assemble(`{`+a8+`,`+a8+`}`, make([]byte, 8)), `duplicate key "a"`},
		{"duplicate metadata", assemble(`{"__metadata__":{},"__metadata__":{}}`, nil), `duplicate key "__metadata__"`},
		{"duplicate metadata key", assemble(`{"__metadata__":{"k":"1","k":"2"}}`, nil), `__metadata__: duplicate key "k"`},
		{"metadata number", assemble(`{"__metadata__":{"k":1}}`, nil), `__metadata__["k"]: expected a string, found 1`},
		{"metadata nested", assemble(`{"__metadata__":{"k":{}}}`, nil), `expected a string, found '{'`},
		{"metadata array", assemble(`{"__metadata__":[]}`, nil), `__metadata__: expected an object, found '['`},
		{"entry not object", assemble(`{"a":5}`, nil), `tensor "a": expected '{', found 5`},
		{"empty name", assemble(`{`+entry("", "U8", "[0]", "[0,0]")+`}`, nil), "empty tensor name"},
		{"unknown field", assemble(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"extra":1}}`, []byte{0}), `tensor "a": unknown field "extra"`},
		{"duplicate field", assemble(`{"a":{"dtype":"U8","dtype":"I8","shape":[1],"data_offsets":[0,1]}}`, []byte{0}), `tensor "a": duplicate key "dtype"`},
		{"missing dtype", assemble(`{"a":{"shape":[1],"data_offsets":[0,1]}}`, []byte{0}), `tensor "a": missing dtype`},
		{"missing shape", assemble(`{"a":{"dtype":"U8","data_offsets":[0,1]}}`, []byte{0}), `tensor "a": missing shape`},
		{"missing offsets", assemble(`{"a":{"dtype":"U8","shape":[1]}}`, []byte{0}), `tensor "a": missing data_offsets`},
		{"unknown dtype", assemble(`{`+entry("a", "F8X", "[1]", "[0,1]")+`}`, []byte{0}), `tensor "a": unknown dtype "F8X"`},
		{"sub-byte dtype", assemble(`{`+entry("a", "F4", "[2]", "[0,1]")+`}`, []byte{0}), `unknown dtype "F4"`},
		{"dtype number", assemble(`{"a":{"dtype":4,"shape":[1],"data_offsets":[0,1]}}`, []byte{0}), `tensor "a": dtype: expected a string, found 4`},
		{"shape null", assemble(`{"a":{"dtype":"U8","shape":null,"data_offsets":[0,1]}}`, []byte{0}), `tensor "a": shape: expected '[', found null`},
		{"negative dim", assemble(`{`+entry("a", "U8", "[2,-1]", "[0,1]")+`}`, []byte{0}), `tensor "a": shape[1]: expected a non-negative integer, found -1`},
		{"float dim", assemble(`{`+entry("a", "U8", "[1.5]", "[0,1]")+`}`, []byte{0}), `shape[0]: expected a non-negative integer, found 1.5`},
		{"exponent dim", assemble(`{`+entry("a", "U8", "[1e0]", "[0,1]")+`}`, []byte{0}), `found 1e0`},
		{"huge dim", assemble(`{`+entry("a", "U8", "[99999999999999999999]", "[0,1]")+`}`, []byte{0}), `found 99999999999999999999`},
		{"nested shape", assemble(`{`+entry("a", "U8", "[[1]]", "[0,1]")+`}`, []byte{0}), `shape[0]: expected a non-negative integer, found '['`},
		{"size overflow", assemble(`{`+entry("a", "F32", "[4294967296,4294967296]", "[0,0]")+`}`, nil), `tensor "a": shape [4294967296 4294967296] × F32 overflows int64`},
		{"size mismatch", assemble(`{`+entry("w", "F32", "[2,3]", "[0,20]")+`}`, make([]byte, 20)), `tensor "w": shape [2 3] × F32 is 24 bytes, data_offsets span 20`},
		{"reversed offsets", assemble(`{`+entry("a", "U8", "[0]", "[4,0]")+`}`, make([]byte, 4)), `tensor "a": data_offsets [4 0] end before they begin`},
		{"one offset", assemble(`{`+entry("a", "U8", "[0]", "[0]")+`}`, nil), `tensor "a": data_offsets has 1 entries, want 2`},
		{"three offsets", assemble(`{`+entry("a", "U8", "[1]", "[0,1,1]")+`}`, []byte{0}), `data_offsets has 3 entries, want 2`},
		{"negative offset", assemble(`{`+entry("a", "U8", "[1]", "[-1,0]")+`}`, []byte{0}), `data_offsets[0]: expected a non-negative integer, found -1`},
		{"beyond data", assemble(`{`+a8+`}`, make([]byte, 4)), `tensor "a": data_offsets end at 8, beyond the 4-byte data section`},
		{"overlap", assemble(`{`+a8+`,`+entry("b", "U8", "[4]", "[4,8]")+`}`, make([]byte, 8)), `tensor "b": data_offsets [4 8] overlap tensor "a", which ends at 8`},
		{"empty inside another", assemble(`{`+a8+`,`+entry("b", "U8", "[0]", "[4,4]")+`}`, make([]byte, 8)), `tensor "b": data_offsets [4 4] overlap tensor "a"`},
		{"gap", assemble(`{`+a8+`,`+entry("b", "U8", "[4]", "[12,16]")+`}`, make([]byte, 16)), `tensor "b": data_offsets begin at 12, leaving 4 unused bytes after tensor "a"`},
		{"gap at start", assemble(`{`+entry("a", "U8", "[4]", "[4,8]")+`}`, make([]byte, 8)), `leaving 4 unused bytes at the start of the data section`},
		{"trailing bytes", assemble(`{`+a8+`}`, make([]byte, 10)), `2 unused bytes after the last tensor`},
		{"data without tensors", assemble(`{}`, make([]byte, 3)), `data section has 3 bytes but the header lists no tensors`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadHeader(bytes.NewReader(tt.file), int64(len(tt.file)))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			t.Log(err)
			if !strings.HasPrefix(err.Error(), "safetensors: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

// A reader that holds fewer bytes than the size it is said to have is a truncated
// file, not an I/O failure.
func TestReadHeaderShortReader(t *testing.T) {
	file := assemble(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{0})
	_, err := ReadHeader(bytes.NewReader(file[:20]), int64(len(file)))
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("err = %v, want a truncation error wrapping ErrInvalid", err)
	}
}

// A hostile name must not make an error message as long as the header.
func TestLongNameTruncatedInError(t *testing.T) {
	name := strings.Repeat("n", 100000)
	file := assemble(`{`+entry(name, "U8", "[1]", "[0,2]")+`}`, make([]byte, 2))
	_, err := ReadHeader(bytes.NewReader(file), int64(len(file)))
	if !errors.Is(err, ErrInvalid) || len(err.Error()) > 500 {
		t.Errorf("err is %d bytes long: %.200v", len(err.Error()), err)
	}
}
