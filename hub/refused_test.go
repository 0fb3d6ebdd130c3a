package hub_test

// Uploads the hub refuses for what they hold (an unknown or broken
// signature, an unregistered base, a tensor of the wrong shape, a hostile or
// truncated safetensors file, a NaN), each leaving nothing behind. Uploads
// refused for how they are sent are in malformed_test.go.

import (
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/potluck-hub/potluck"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
	"github.com/potluck-hub/potluck/safetensors"
	"github.com/potluck-hub/potluck/store"
)

// refusalSetup is a hub holding a registered base and, beside it, a valid
// delta of that base (good) that is never published: a refusal test sends
// something built from it with one defect. Refusals change nothing on the
// hub, so the subtests that only refuse share one setup; nothing writes
// into good.
type refusalSetup struct {
	hs      *harness
	m       models
	baseCID string
	good    string
	man     *potluck.Manifest // good's
}

func newRefusalSetup(t *testing.T) *refusalSetup {
	t.Helper()
	hs := newHarness(t)
	m, base := hs.registeredBase(t)
	good := filepath.Join(hs.dir, "good-delta")
	return &refusalSetup{hs: hs, m: m, baseCID: base.CID, good: good, man: makeDelta(t, m.base, m.ftA, good, base.CID)}
}

// variant copies the good delta into a folder of the test's, lets alter
// change it, rewrites the manifest to describe the altered files and signs
// the result with A's key: everything about it is right but the alteration.
func (s *refusalSetup) variant(t *testing.T, alter func(dir string)) (*store.Dir, []byte) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "variant")
	copyDir(t, s.good, dir)
	alter(dir)
	remanifest(t, dir)
	return signDir(t, dir, s.hs.keyA)
}

// refusePublish publishes scan as a delta of the base: the hub must refuse
// it as expectRefused says.
func (s *refusalSetup) refusePublish(t *testing.T, code codes.Code, want []string, scan *store.Dir, bundle []byte) {
	t.Helper()
	s.hs.expectRefused(t, code, want, func() error {
		_, err := s.hs.client.Publish(context.Background(), scan, bundle, s.baseCID, nil)
		return err
	})
}

// goodUpload is the header and the files of the good delta, signed by A.
func (s *refusalSetup) goodUpload(t *testing.T) (*hubv1.UploadHeader, [][]byte) {
	t.Helper()
	_, bundle := scanAndBundle(t, s.good, s.hs.keyA)
	return uploadHeader(t, s.good, bundle, s.baseCID)
}

const shard0 = "model-00001-of-00002.safetensors"

func TestRefusedUploadsLeaveNothing(t *testing.T) {
	s := newRefusalSetup(t)
	hs, ctx := s.hs, context.Background()

	t.Run("UnknownSigner", func(t *testing.T) {
		scan, bundle := scanAndBundle(t, s.good, hs.keyX)
		s.refusePublish(t, codes.PermissionDenied, []string{"no trusted key"}, scan, bundle)
	})

	t.Run("BadSignature", func(t *testing.T) {
		scan, bundle := scanAndBundle(t, s.good, hs.keyA)
		s.refusePublish(t, codes.PermissionDenied, []string{"signature does not verify"}, scan, flipSignatureByte(t, bundle))
	})

	t.Run("UnregisteredBase", func(t *testing.T) {
		// A real CID (of the fine-tune's directory) that names no release.
		other := dirCID(t, s.m.ftB)
		dir := filepath.Join(t.TempDir(), "delta-other-base")
		makeDelta(t, s.m.base, s.m.ftA, dir, other)
		scan, bundle := signDir(t, dir, hs.keyA)
		hs.expectRefused(t, codes.InvalidArgument, []string{other}, func() error {
			_, err := hs.client.Publish(ctx, scan, bundle, other, nil)
			return err
		})
	})

	t.Run("ShapeDiffersFromBase", func(t *testing.T) {
		const name = "model.layers.0.self_attn.q_proj.weight"
		scan, bundle := s.variant(t, func(dir string) {
			rewriteShard(t, filepath.Join(dir, shard0), func(specs []safetensors.TensorSpec, _ [][]byte) {
				for i := range specs {
					if specs[i].Name == name {
						if !slices.Equal(specs[i].Shape, []int64{256, 256}) {
							t.Fatalf("%s has shape %v, the test expects [256 256]", name, specs[i].Shape)
						}
						specs[i].Shape = []int64{128, 512} // same bytes, another shape
					}
				}
			})
		})
		s.refusePublish(t, codes.InvalidArgument, []string{name, "[128 512]"}, scan, bundle)
	})

	t.Run("HostileSafetensorsHeader", func(t *testing.T) {
		scan, bundle := s.variant(t, func(dir string) {
			editFile(t, filepath.Join(dir, shard0), func(b []byte) []byte {
				binary.LittleEndian.PutUint64(b, uint64(len(b))+100) // header longer than the file
				return b
			})
		})
		s.refusePublish(t, codes.InvalidArgument, []string{shard0, "header length"}, scan, bundle)
	})

	t.Run("TruncatedShard", func(t *testing.T) {
		scan, bundle := s.variant(t, func(dir string) {
			editFile(t, filepath.Join(dir, shard0), func(b []byte) []byte {
				return b[:len(b)/2] // header whole, data cut
			})
		})
		s.refusePublish(t, codes.InvalidArgument, []string{shard0, "truncated"}, scan, bundle)
	})

	t.Run("HostileHeaderInBase", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "hostile-base")
		copyDir(t, s.m.ftB, dir) // another model, so a new base
		editFile(t, filepath.Join(dir, "model-00002-of-00002.safetensors"), func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b, 1<<62)
			return b
		})
		hs.expectRefused(t, codes.InvalidArgument, []string{"model-00002-of-00002.safetensors", "header length"}, func() error {
			_, err := hs.registerBase(dir, hs.keyA)
			return err
		})
	})

	t.Run("NaNInDelta", func(t *testing.T) {
		const name = "model.layers.1.mlp.up_proj.weight"
		tensor := tensorOf(t, s.man, name)
		if tensor.DType != "BF16" {
			t.Fatalf("%s: dtype %q in the manifest, the test expects BF16", name, tensor.DType)
		}
		scan, bundle := s.variant(t, func(dir string) {
			editFile(t, filepath.Join(dir, tensor.File), func(b []byte) []byte {
				binary.LittleEndian.PutUint16(b[tensor.Offset+2*1000:], 0x7fc0) // element 1000: a quiet NaN
				return b
			})
		})
		s.refusePublish(t, codes.InvalidArgument, []string{name, "NaN"}, scan, bundle)
	})

	// The control, on a hub of its own (it changes the hub): the same
	// pipeline without a defect is accepted, so the refusals above are the
	// defects' doing.
	t.Run("Controls", func(t *testing.T) {
		s := newRefusalSetup(t)
		scan, bundle := s.variant(t, func(string) {})
		rel, err := s.hs.client.Publish(ctx, scan, bundle, s.baseCID, nil)
		if err != nil {
			t.Fatalf("an unaltered variant: %v", err)
		}
		if rel.CID != dirCID(t, s.good) {
			t.Errorf("unaltered variant published as %s, the good delta's CID is %s", rel.CID, dirCID(t, s.good))
		}
		if n := len(s.hs.snapshot().staging); n != 0 {
			t.Errorf("staging holds %d entries after a successful upload", n)
		}
	})
}

// editFile replaces a file's bytes with what edit makes of them.
func editFile(t *testing.T, path string, edit func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, edit(b), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A float64 delta tensor whose first element is finite but beyond float32's
// range must not hide a NaN that follows it: admission promises "every value
// is finite". The control (NaN alone) shows the hand-built float64 delta is
// otherwise checked.
func TestNaNAfterLargeFloat64IsRefused(t *testing.T) {
	s := newRefusalSetup(t)
	const name = "model.norm.weight"
	for _, tc := range []struct {
		name  string
		first float64
	}{{"NaNAlone", 0.25}, {"NaNAfterLargeFinite", 1e300}} {
		t.Run(tc.name, func(t *testing.T) {
			vals := []float64{tc.first, math.NaN()} // then zeros
			scan, bundle := s.variant(t, func(dir string) {
				setTensor(t, dir, "model-00002-of-00002.safetensors", name, func(i int) float64 {
					if i < len(vals) {
						return vals[i]
					}
					return 0
				})
			})
			s.refusePublish(t, codes.InvalidArgument, []string{name, "NaN"}, scan, bundle)
		})
	}
}
