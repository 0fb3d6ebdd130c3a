package node_test

// Tests of the lab's side on real files: MakeDelta's output checked byte by
// byte against the inputs (headers parsed and digests computed here), and
// VerifyDir against directories altered after signing.

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/internal/testmodel"
	"github.com/potluck-hub/potluck/node"
	"github.com/potluck-hub/potluck/safetensors"
	"github.com/potluck-hub/potluck/signing"
	"github.com/potluck-hub/potluck/store"
)

// pair writes a small base and a fine-tune of it under dir.
func pair(t *testing.T, dir string) (base, ft string) {
	t.Helper()
	base, ft = filepath.Join(dir, "base"), filepath.Join(dir, "ft")
	if err := testmodel.WriteBase(base, 3, testmodel.Small); err != nil {
		t.Fatal(err)
	}
	if err := testmodel.WriteFinetune(base, ft, 4, 0.02); err != nil {
		t.Fatal(err)
	}
	return base, ft
}

// header is a safetensors header as the format defines it, parsed here.
type headerEntry struct {
	DType   string   `json:"dtype"`
	Shape   []int64  `json:"shape"`
	Offsets [2]int64 `json:"data_offsets"`
}

func parseHeader(t *testing.T, file []byte) (dataStart int64, entries map[string]headerEntry) {
	t.Helper()
	n := int64(binary.LittleEndian.Uint64(file))
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(file[8:8+n], &raw); err != nil {
		t.Fatal(err)
	}
	entries = map[string]headerEntry{}
	for k, v := range raw {
		if k == "__metadata__" {
			continue
		}
		var e headerEntry
		if err := json.Unmarshal(v, &e); err != nil {
			t.Fatal(err)
		}
		entries[k] = e
	}
	return 8 + n, entries
}

// floats decodes bf16 or f32 little-endian bytes.
func floats(t *testing.T, b []byte, dtype string) []float64 {
	t.Helper()
	var out []float64
	switch dtype {
	case "BF16":
		for i := 0; i < len(b); i += 2 {
			out = append(out, float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[i:]))<<16)))
		}
	case "F32":
		for i := 0; i < len(b); i += 4 {
			out = append(out, float64(math.Float32frombits(binary.LittleEndian.Uint32(b[i:]))))
		}
	default:
		t.Fatalf("dtype %s not decoded by the test", dtype)
	}
	return out
}

var dtypeSize = map[string]int64{"BF16": 2, "F32": 4, "I64": 8}

func halfULP(x float64, dtype string) float64 {
	bits := 24
	if dtype == "BF16" {
		bits = 8
	}
	_, e := math.Frexp(math.Abs(x)) // |x| in [2^(e-1), 2^e)
	return math.Ldexp(1, e-bits-1)
}

// modelTensors reads every tensor of a model directory as raw bytes.
func modelTensors(t *testing.T, dir string) map[string]safetensors.ModelTensor {
	t.Helper()
	m, err := safetensors.OpenModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	out := map[string]safetensors.ModelTensor{}
	for _, mt := range m.Tensors() {
		out[mt.Name] = mt
	}
	return out
}

func readTensor(t *testing.T, dir, name string) []byte {
	t.Helper()
	m, err := safetensors.OpenModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	b, err := m.ReadTensor(name, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMakeDeltaManifestMatchesFiles(t *testing.T) {
	dir := t.TempDir()
	base, ft := pair(t, dir)
	out := filepath.Join(dir, "delta")
	man, err := node.MakeDelta(context.Background(), node.DeltaOptions{BaseDir: base, FinetunedDir: ft, OutDir: out})
	if err != nil {
		t.Fatal(err)
	}
	baseCID, err := store.HashDir(base)
	if err != nil {
		t.Fatal(err)
	}
	if man.Kind != potluck.KindDelta || man.Base != baseCID.String() {
		t.Errorf("manifest: kind %q base %s; want delta of %s", man.Kind, man.Base, baseCID)
	}
	onDisk, err := potluck.ReadManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := man.Encode()
	b, _ := onDisk.Encode()
	if string(a) != string(b) {
		t.Errorf("potluck.json differs from the manifest MakeDelta returned")
	}

	// Files: exactly the directory's (but the manifest), sizes and digests
	// computed here.
	ents, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]potluck.File{}
	for _, f := range man.Files {
		listed[f.Path] = f
	}
	for _, e := range ents {
		if e.Name() == potluck.ManifestFile {
			continue
		}
		f, ok := listed[e.Name()]
		if !ok {
			t.Errorf("%s is in the delta but not in its manifest", e.Name())
			continue
		}
		delete(listed, e.Name())
		data, err := os.ReadFile(filepath.Join(out, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if f.Size != int64(len(data)) || f.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("manifest lists %s as %d bytes sha256 %s; the file is %d bytes sha256 %x", f.Path, f.Size, f.SHA256, len(data), sum)
		}
	}
	for p := range listed {
		t.Errorf("manifest lists %s, which is not in the delta", p)
	}

	// Tensors: where the headers (parsed here) put them, with the digest of
	// those bytes, and values ft − base rounded once to the dtype.
	fts := modelTensors(t, ft)
	seen := map[string]bool{}
	files := map[string][]byte{}
	for _, mt := range man.Tensors {
		if seen[mt.Name] {
			t.Errorf("tensor %q listed twice", mt.Name)
		}
		seen[mt.Name] = true
		file, ok := files[mt.File]
		if !ok {
			if file, err = os.ReadFile(filepath.Join(out, mt.File)); err != nil {
				t.Fatal(err)
			}
			files[mt.File] = file
		}
		start, hdr := parseHeader(t, file)
		e, ok := hdr[mt.Name]
		if !ok {
			t.Errorf("tensor %q: not in the header of %s", mt.Name, mt.File)
			continue
		}
		n := int64(1)
		for _, d := range mt.Shape {
			n *= d
		}
		if mt.Offset != start+e.Offsets[0] || mt.Length != e.Offsets[1]-e.Offsets[0] || mt.Length != n*dtypeSize[mt.DType] ||
			mt.DType != e.DType || !slices.Equal(mt.Shape, e.Shape) || mt.Encoding != "dense" {
			t.Errorf("tensor %q: manifest %s%v at %d+%d (%s); header %s%v at %d+%d", mt.Name, mt.DType, mt.Shape, mt.Offset, mt.Length, mt.Encoding,
				e.DType, e.Shape, start+e.Offsets[0], e.Offsets[1]-e.Offsets[0])
			continue
		}
		data := file[mt.Offset : mt.Offset+mt.Length]
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != mt.SHA256 {
			t.Errorf("tensor %q: manifest sha256 %s, the bytes' %x", mt.Name, mt.SHA256, sum)
		}
		src, ok := fts[mt.Name]
		if !ok || string(src.DType) != mt.DType || !slices.Equal(src.Shape, mt.Shape) {
			t.Errorf("tensor %q: %s%v in the delta, %s%v in the fine-tune", mt.Name, mt.DType, mt.Shape, src.DType, src.Shape)
			continue
		}
		got := floats(t, data, mt.DType)
		fv := floats(t, readTensor(t, ft, mt.Name), mt.DType)
		bv := floats(t, readTensor(t, base, mt.Name), mt.DType)
		// ft − base is exact in float64; the delta rounds it once to its
		// dtype (half an ulp), after an exact (or, at worst, one float32)
		// rounding in float32.
		bad := 0
		for i := range got {
			want := fv[i] - bv[i]
			if diff := math.Abs(got[i] - want); !(diff <= halfULP(want, mt.DType)+halfULP(want, "F32")) {
				if bad++; bad <= 3 {
					t.Errorf("tensor %q element %d: delta %v, ft − base = %v", mt.Name, i, got[i], want)
				}
			}
		}
	}
	// Every float tensor of the fine-tune is in the delta; integer ones
	// (equal to the base's) are not.
	for name, mt := range fts {
		if mt.DType.IsFloat() != seen[name] {
			t.Errorf("tensor %q (%s): in the delta %v", name, mt.DType, seen[name])
		}
	}
	if len(seen) == 0 || seen["model.position_ids"] {
		t.Errorf("delta tensors %v", seen)
	}
}

func TestMakeDeltaRefusesExistingOut(t *testing.T) {
	dir := t.TempDir()
	base, ft := pair(t, dir)
	out := filepath.Join(dir, "delta")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(out, "keep-me")
	if err := os.WriteFile(marker, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := node.MakeDelta(context.Background(), node.DeltaOptions{BaseDir: base, FinetunedDir: ft, OutDir: out})
	if err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("MakeDelta into an existing directory: %v", err)
	}
	if names := entries(t, out); !slices.Equal(names, []string{"keep-me"}) {
		t.Errorf("the existing directory now holds %v", names)
	}
	if b, _ := os.ReadFile(marker); string(b) != "mine" {
		t.Errorf("keep-me now holds %q", b)
	}
	if names := entries(t, dir); !slices.Equal(names, []string{"base", "delta", "ft"}) {
		t.Errorf("%s holds %v", dir, names)
	}
}

func entries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func TestMakeDeltaLeavesNothingOnError(t *testing.T) {
	t.Run("InfInLastShard", func(t *testing.T) {
		dir := t.TempDir()
		base, ft := pair(t, dir)
		// lm_head is in the last shard: the first shard is written before
		// the delta meets the Inf.
		shard := filepath.Join(ft, "model-00002-of-00002.safetensors")
		f, err := safetensors.Open(shard)
		if err != nil {
			t.Fatal(err)
		}
		ti, ok := f.Tensor("lm_head.weight")
		f.Close()
		if !ok || ti.DType != safetensors.F32 {
			t.Fatalf("lm_head.weight: %v %s", ok, ti.DType)
		}
		b, err := os.ReadFile(shard)
		if err != nil {
			t.Fatal(err)
		}
		binary.LittleEndian.PutUint32(b[ti.Start+4*77:], math.Float32bits(float32(math.Inf(1))))
		if err := os.WriteFile(shard, b, 0o644); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "delta")
		_, err = node.MakeDelta(context.Background(), node.DeltaOptions{BaseDir: base, FinetunedDir: ft, OutDir: out})
		if err == nil || !strings.Contains(err.Error(), "lm_head.weight") || !strings.Contains(err.Error(), "77") {
			t.Errorf("MakeDelta over an Inf: %v; want an error naming lm_head.weight element 77", err)
		}
		if names := entries(t, dir); !slices.Equal(names, []string{"base", "ft"}) {
			t.Errorf("after the error %s holds %v", dir, names)
		}
	})
	t.Run("ShapeMismatch", func(t *testing.T) {
		dir := t.TempDir()
		base := filepath.Join(dir, "base")
		other := filepath.Join(dir, "other")
		if err := testmodel.WriteBase(base, 3, testmodel.Small); err != nil {
			t.Fatal(err)
		}
		if err := testmodel.WriteBase(other, 3, testmodel.Spec{Layers: 4, Hidden: 128, Vocab: 1024, Shards: 2}); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "delta")
		_, err := node.MakeDelta(context.Background(), node.DeltaOptions{BaseDir: base, FinetunedDir: other, OutDir: out})
		if err == nil || !strings.Contains(err.Error(), "shape [1024 128], base has [1024 256]") {
			t.Errorf("MakeDelta over another shape: %v", err)
		}
		if names := entries(t, dir); !slices.Equal(names, []string{"base", "other"}) {
			t.Errorf("after the error %s holds %v", dir, names)
		}
	})
	t.Run("Cancelled", func(t *testing.T) {
		dir := t.TempDir()
		base, ft := pair(t, dir)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := node.MakeDelta(ctx, node.DeltaOptions{BaseDir: base, FinetunedDir: ft, OutDir: filepath.Join(dir, "delta")})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("MakeDelta with a cancelled context: %v", err)
		}
		if names := entries(t, dir); !slices.Equal(names, []string{"base", "ft"}) {
			t.Errorf("after the error %s holds %v", dir, names)
		}
	})
}

// signedDelta makes a delta under dir and signs it with a new key.
func signedDelta(t *testing.T, dir string) (delta string, key *signing.PublicKey, other *signing.Signer) {
	t.Helper()
	base, ft := pair(t, dir)
	delta = filepath.Join(dir, "delta")
	if _, err := node.MakeDelta(context.Background(), node.DeltaOptions{BaseDir: base, FinetunedDir: ft, OutDir: delta}); err != nil {
		t.Fatal(err)
	}
	var signers []*signing.Signer
	for _, name := range []string{"a", "b"} {
		priv := filepath.Join(dir, name+".key")
		if err := signing.GenerateKey(priv, filepath.Join(dir, name+".pub")); err != nil {
			t.Fatal(err)
		}
		s, err := signing.LoadSigner(priv)
		if err != nil {
			t.Fatal(err)
		}
		signers = append(signers, s)
	}
	if _, _, err := node.SignDir(delta, signers[0]); err != nil {
		t.Fatal(err)
	}
	return delta, signers[0].Public(), signers[1]
}

func TestVerifyDir(t *testing.T) {
	dir := t.TempDir()
	delta, key, other := signedDelta(t, dir)
	trusted := []*signing.PublicKey{key}

	rep, err := node.VerifyDir(delta, trusted)
	if err != nil {
		t.Fatalf("VerifyDir of an untouched delta: %v", err)
	}
	// The report's CID is the directory's without model.sig.
	nosig := filepath.Join(dir, "nosig")
	if err := os.Mkdir(nosig, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range entries(t, delta) {
		if name != signing.SignatureFile {
			b, _ := os.ReadFile(filepath.Join(delta, name))
			os.WriteFile(filepath.Join(nosig, name), b, 0o644)
		}
	}
	want, err := store.HashDir(nosig)
	if err != nil {
		t.Fatal(err)
	}
	if rep.CID != want.String() {
		t.Errorf("report CID %s, the directory without model.sig has %s", rep.CID, want)
	}
	if rep.Manifest == nil || rep.Signed.Key.Hint() != key.Hint() || len(rep.Signed.Resources) != len(entries(t, delta))-1 {
		t.Errorf("report: manifest %v, key %s, %d resources", rep.Manifest != nil, rep.Signed.Key.Hint(), len(rep.Signed.Resources))
	}

	// fresh copies the signed delta (model.sig included) to a new directory.
	n := 0
	fresh := func(t *testing.T) string {
		n++
		d := filepath.Join(dir, "copy", string(rune('a'+n)))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, name := range entries(t, delta) {
			b, err := os.ReadFile(filepath.Join(delta, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(d, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := node.VerifyDir(d, trusted); err != nil {
			t.Fatalf("an untouched copy does not verify: %v", err)
		}
		return d
	}

	t.Run("OneByteChanged", func(t *testing.T) {
		d := fresh(t)
		p := filepath.Join(d, "model-00001-of-00002.safetensors")
		b, _ := os.ReadFile(p)
		b[len(b)-1] ^= 0x80
		os.WriteFile(p, b, 0o644)
		_, err := node.VerifyDir(d, trusted)
		if !errors.Is(err, signing.ErrDigestMismatch) || !strings.Contains(err.Error(), "model-00001-of-00002.safetensors") {
			t.Errorf("VerifyDir after a byte changed: %v; want ErrDigestMismatch naming the file", err)
		}
	})
	t.Run("FileAdded", func(t *testing.T) {
		d := fresh(t)
		os.WriteFile(filepath.Join(d, "extra.txt"), []byte("not signed"), 0o644)
		_, err := node.VerifyDir(d, trusted)
		if !errors.Is(err, signing.ErrDigestMismatch) || !strings.Contains(err.Error(), "extra.txt") {
			t.Errorf("VerifyDir after a file was added: %v; want ErrDigestMismatch naming extra.txt", err)
		}
	})
	t.Run("FileRemoved", func(t *testing.T) {
		d := fresh(t)
		os.Remove(filepath.Join(d, "model.safetensors.index.json"))
		_, err := node.VerifyDir(d, trusted)
		if !errors.Is(err, signing.ErrDigestMismatch) || !strings.Contains(err.Error(), "model.safetensors.index.json") {
			t.Errorf("VerifyDir after a file was removed: %v", err)
		}
	})
	t.Run("SignatureByAnotherKey", func(t *testing.T) {
		d := fresh(t)
		scan, err := store.ScanDir(d)
		if err != nil {
			t.Fatal(err)
		}
		bundle, err := node.Bundle(scan, other)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(d, signing.SignatureFile), bundle, 0o644)
		if _, err := node.VerifyDir(d, trusted); !errors.Is(err, signing.ErrUntrusted) {
			t.Errorf("VerifyDir with model.sig by another key: %v; want ErrUntrusted", err)
		}
		// The same directory verifies against that other key: only the key
		// was wrong.
		if _, err := node.VerifyDir(d, []*signing.PublicKey{other.Public()}); err != nil {
			t.Errorf("VerifyDir against the key that signed: %v", err)
		}
	})
	t.Run("NoSignature", func(t *testing.T) {
		d := fresh(t)
		os.Remove(filepath.Join(d, signing.SignatureFile))
		if _, err := node.VerifyDir(d, trusted); !errors.Is(err, node.ErrVerify) {
			t.Errorf("VerifyDir without model.sig: %v; want ErrVerify", err)
		}
	})
	t.Run("ManifestDisagreesButSigned", func(t *testing.T) {
		// The signer signed a manifest that misstates a file's size: the
		// signature holds, the manifest check must not.
		d := fresh(t)
		man, err := potluck.ReadManifest(d)
		if err != nil {
			t.Fatal(err)
		}
		man.Files[0].Size++
		if err := man.Write(d); err != nil {
			t.Fatal(err)
		}
		s, err := signing.LoadSigner(filepath.Join(dir, "a.key"))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := node.SignDir(d, s); err != nil {
			t.Fatal(err)
		}
		_, err = node.VerifyDir(d, trusted)
		if !errors.Is(err, node.ErrVerify) || !strings.Contains(err.Error(), man.Files[0].Path) {
			t.Errorf("VerifyDir with a manifest listing a wrong size: %v; want ErrVerify naming %s", err, man.Files[0].Path)
		}
	})
}

// TestMakeDeltaProgress: the delta's progress counts the fine-tune's float
// weights, as its safetensors headers give them, from 0 up to all of them.
func TestMakeDeltaProgress(t *testing.T) {
	dir := t.TempDir()
	base, ft := pair(t, dir)
	m, err := safetensors.OpenModel(ft)
	if err != nil {
		t.Fatal(err)
	}
	var want int64
	for _, tn := range m.Tensors() {
		if tn.DType.IsFloat() {
			want += tn.Size()
		}
	}
	m.Close()
	var seen [][2]int64
	_, err = node.MakeDelta(context.Background(), node.DeltaOptions{BaseDir: base, FinetunedDir: ft, OutDir: filepath.Join(dir, "delta"),
		Progress: func(done, total int64) { seen = append(seen, [2]int64{done, total}) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) < 3 || seen[0] != [2]int64{0, want} || seen[len(seen)-1] != [2]int64{want, want} {
		t.Fatalf("progress %v: want from 0 to %d of %d", seen, want, want)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i][0] <= seen[i-1][0] || seen[i][1] != want {
			t.Fatalf("progress report %d: %v after %v", i, seen[i], seen[i-1])
		}
	}
}
