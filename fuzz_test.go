package potluck

import (
	"bytes"
	"testing"
)

// FuzzParseManifest: a manifest arrives from a publisher. The parser must
// never panic, and what it accepts must be exactly its canonical encoding.
func FuzzParseManifest(f *testing.F) {
	m := &Manifest{Schema: ManifestSchema, Kind: KindDelta, Base: "bafybase",
		Files:   []File{{Path: "model.safetensors", Size: 10, SHA256: "aa", CID: "bafyf"}},
		Tensors: []Tensor{{Name: "w", DType: "BF16", Shape: []int64{2}, File: "model.safetensors", Offset: 8, Length: 4, SHA256: "bb", Encoding: "dense"}}}
	good, err := m.Encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"schema":"potluck.manifest/v1","kind":"merge","base":"b","files":[],"tensors":[],"merge":{"method":"linear","recipe":{"a":1},"inputs":[],"engine":"e"}}`))
	f.Add([]byte(`{"schema":"potluck.manifest/v1","BASE":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err != nil {
			return
		}
		enc, err := m.Encode()
		if err != nil {
			t.Fatalf("accepted manifest does not encode: %v", err)
		}
		if !bytes.Equal(bytes.TrimSpace(enc), bytes.TrimSpace(b)) {
			t.Fatalf("accepted a manifest that is not canonical:\n%q\n%q", b, enc)
		}
	})
}
