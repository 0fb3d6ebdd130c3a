package hub_test

// What the hub must answer, computed here from the files a test uploaded,
// never taken from the code under test: a directory's CID (dirCID), its
// files' sizes and digests (localFiles, checkReleaseFiles), and a merge's
// values within the bound its arithmetic allows (readModel, checkMerge).

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/safetensors"
	"github.com/potluck-hub/potluck/signing"
	"github.com/potluck-hub/potluck/store"
)

// fileSHA256 is the hex SHA-256 of a file's bytes.
func fileSHA256(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// localFiles lists a release directory's files as the hub should record
// them: every regular, non-hidden file but model.sig, with its size and
// SHA-256 computed here.
func localFiles(t *testing.T, dir string) map[string]potluck.File {
	t.Helper()
	out := map[string]potluck.File{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if rel == signing.SignatureFile || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		out[rel] = potluck.File{Path: rel, Size: st.Size(), SHA256: fileSHA256(t, p)}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkReleaseFiles compares a release's file list with the local directory.
func checkReleaseFiles(t *testing.T, rel *potluck.Release, dir string) {
	t.Helper()
	want := localFiles(t, dir)
	if len(rel.Files) != len(want) {
		t.Errorf("release %s lists %d files, %s has %d", rel.CID, len(rel.Files), dir, len(want))
	}
	for _, f := range rel.Files {
		w, ok := want[f.Path]
		if !ok {
			t.Errorf("release lists %q, not in %s", f.Path, dir)
			continue
		}
		if int64(f.Size) != w.Size || f.SHA256 != w.SHA256 {
			t.Errorf("release file %q: %d bytes sha256 %s; local %d bytes sha256 %s", f.Path, f.Size, f.SHA256, w.Size, w.SHA256)
		}
		info, err := store.HashFileAt(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if err != nil {
			t.Fatal(err)
		}
		if f.CID != info.CID.String() {
			t.Errorf("release file %q: CID %s, the local file's is %s", f.Path, f.CID, info.CID)
		}
	}
}

// dirCID is the CID the hub must give a release directory: `ipfs add -r` of
// it without model.sig.
func dirCID(t testing.TB, dir string) string {
	t.Helper()
	d, err := store.ScanDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.CID()
	if err != nil {
		t.Fatal(err)
	}
	return c.String()
}

// tensorVals is one tensor read straight from a model directory: float
// values decoded here (bf16 is the top half of a float32), other dtypes as
// raw bytes.
type tensorVals struct {
	dtype safetensors.DType
	shape []int64
	f     []float64
	raw   []byte
}

func readModel(t *testing.T, dir string) map[string]tensorVals {
	t.Helper()
	m, err := safetensors.OpenModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	out := map[string]tensorVals{}
	for _, mt := range m.Tensors() {
		raw, err := m.ReadTensor(mt.Name, nil)
		if err != nil {
			t.Fatal(err)
		}
		tv := tensorVals{dtype: mt.DType, shape: mt.Shape, raw: slices.Clone(raw)}
		switch mt.DType {
		case safetensors.BF16:
			for i := 0; i < len(raw); i += 2 {
				tv.f = append(tv.f, float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(raw[i:]))<<16)))
			}
		case safetensors.F32:
			for i := 0; i < len(raw); i += 4 {
				tv.f = append(tv.f, float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[i:]))))
			}
		case safetensors.I64:
		default:
			t.Fatalf("%s: tensor %q has dtype %s, which the test does not decode", dir, mt.Name, mt.DType)
		}
		out[mt.Name] = tv
	}
	return out
}

// ulp is the distance between x and the next representable value away from
// zero in a float format with the given significand bits (8 for bf16, 24
// for float32), floored at the smallest subnormal.
func ulp(x float64, bits, minExp int) float64 {
	_, e := math.Frexp(math.Abs(x)) // |x| in [2^(e-1), 2^e)
	return math.Max(math.Ldexp(1, e-bits), math.Ldexp(1, minExp))
}

func ulpBF16(x float64) float64 { return ulp(x, 8, -133) }
func ulpF32(x float64) float64  { return ulp(x, 24, -149) }

// checkMerge compares every tensor of merged with base + Σ wᵢ(ftᵢ − base)
// computed in float64 from the original files.
//
// Error bound. The hub computes in float32 from bf16 or f32 inputs, which it
// widens exactly. The only roundings that matter are:
//   - each delta was rounded once to its tensor's dtype when it was made:
//     |δᵢ − (ftᵢ − base)| ≤ ulp(δᵢ)/2, weighted by wᵢ in the sum;
//   - the output is rounded once to the tensor's dtype: at most half an ulp
//     of the float32 result, which lies within ulp(M) of ref and so at
//     most one binade above it: ≤ ulp(M);
//   - float32 sums and products (24-bit) before that, ~2⁻²⁴·M each.
//
// With M = max(|ref|, |ftᵢ − base|), weights of 0.5 that is ≤ 1.5·ulp(M) for
// a bf16 tensor; we allow 2 bf16 ulps of M (plus 2⁻²⁰·M for the float32
// steps). Float32 tensors also round the accumulator, ≤ 3 float32 ulps of M
// in all; we allow 4. A wrong weight or a delta left out moves elements by
// ~0.5·|δ| ≈ 10 bf16 ulps, far outside.
func checkMerge(t *testing.T, base, merged map[string]tensorVals, fts []map[string]tensorVals, w []float64) {
	t.Helper()
	if len(merged) != len(base) {
		t.Errorf("merged model has %d tensors, the base %d", len(merged), len(base))
	}
	var floats, moved, bad int
	for name, b := range base {
		m, ok := merged[name]
		if !ok {
			t.Errorf("merged model lacks tensor %q", name)
			continue
		}
		if m.dtype != b.dtype || !slices.Equal(m.shape, b.shape) {
			t.Errorf("tensor %q: merged %s%v, base %s%v", name, m.dtype, m.shape, b.dtype, b.shape)
			continue
		}
		if b.f == nil {
			if !bytes.Equal(m.raw, b.raw) {
				t.Errorf("integer tensor %q differs from the base's", name)
			}
			continue
		}
		for i, bv := range b.f {
			ref, mag := bv, 0.0
			for k, ft := range fts {
				d := ft[name].f[i] - bv // exact: both are float32s
				ref += w[k] * d
				mag = math.Max(mag, math.Abs(d))
			}
			mag = math.Max(mag, math.Abs(ref))
			tol := 2*ulpBF16(mag) + mag*0x1p-20
			if m.dtype == safetensors.F32 {
				tol = 4 * ulpF32(mag)
			}
			floats++
			if math.Abs(ref-bv) > tol {
				moved++
			}
			if diff := math.Abs(m.f[i] - ref); !(diff <= tol) {
				if bad++; bad <= 5 {
					t.Errorf("tensor %q element %d: merged %v, reference %v (base %v): off by %g, bound %g", name, i, m.f[i], ref, bv, diff, tol)
				}
			}
		}
	}
	if bad > 5 {
		t.Errorf("... %d elements out of bounds in all", bad)
	}
	// The comparison means something only if the merge moved most elements
	// away from the base by more than the bound.
	if moved < floats/2 {
		t.Errorf("only %d of %d elements of the reference differ from the base beyond the bound", moved, floats)
	}
	t.Logf("checked %d float elements, %d moved beyond the bound", floats, moved)
}
