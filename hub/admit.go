package hub

import (
	"context"
	"fmt"
	"io"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/merge"
)

// maxManifest bounds a manifest's size: it lists files and tensors, a few
// hundred bytes each.
const maxManifest = 64 << 20

// The stages after the bytes are staged: the staged files form a valid
// safetensors model (format); for a delta, its manifest agrees with the
// upload (manifest), every tensor fits the base (fit, sparse), every value
// is finite and every digest right (values). The norm and cosine bounds are
// in screen.go and cosine.go.

// checkFormat opens the staged files as a model: every safetensors header
// is valid, and every index names shards of the upload (admit_index.go).
func (h *Hub) checkFormat(_ context.Context, a *admission) (err error) {
	if err := h.checkHeaders(a); err != nil {
		return err
	}
	if a.upload, err = merge.OpenModel("upload", stagedSource{a}); err != nil {
		return rejected(err)
	}
	return checkIndexes(a.upload)
}

// checkManifest: the delta carries a manifest that describes it: its kind,
// its base and exactly the uploaded files.
func (h *Hub) checkManifest(_ context.Context, a *admission) (err error) {
	if a.man, err = readManifest(a.upload); err != nil {
		return rejected(err)
	}
	if a.man.Kind != potluck.KindDelta || a.man.Base != a.up.Base {
		return fmt.Errorf("%w: manifest says %s of base %s; the upload is a delta of %s", ErrRejected, a.man.Kind, a.man.Base, a.up.Base)
	}
	return checkManifestFiles(a.man, a)
}

// checkFit opens the delta's base: every delta tensor names a base tensor
// and fits its shape.
func (h *Hub) checkFit(ctx context.Context, a *admission) error {
	baseRel, err := h.releases.get(a.up.Base)
	if err != nil {
		return err
	}
	if a.base, err = h.openRelease(ctx, baseRel); err != nil {
		return err
	}
	return rejected(merge.CheckDelta(a.base, a.upload))
}

// checkSparse: a sparse tensor's indices lie inside its base tensor.
func (h *Hub) checkSparse(_ context.Context, a *admission) error {
	return rejected(merge.CheckSparseIndices(a.base, a.upload))
}

// checkValues: the manifest lists every tensor with its digest, every
// value is finite, and not every value is zero (the delta changes its base).
func (h *Hub) checkValues(_ context.Context, a *admission) error {
	sums, norms, err := scanNorms(a.upload, a.upload.Names(), true)
	if err != nil {
		return rejected(err)
	}
	if err := checkManifestTensors(a.man, a.upload, sums); err != nil {
		return err
	}
	a.norms = norms
	zero, err := merge.ZeroDelta(a.base, a.upload)
	if err == nil && zero {
		err = merge.ErrZeroDelta
	}
	return rejected(err)
}

// rejected marks a check's error as the hub's refusal.
func rejected(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrRejected, err)
}

func readManifest(m *merge.Model) (*potluck.Manifest, error) {
	f, err := m.OpenFile(potluck.ManifestFile)
	if err != nil {
		return nil, fmt.Errorf("a delta must carry %s: %w", potluck.ManifestFile, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxManifest+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxManifest {
		return nil, fmt.Errorf("%s is larger than %d bytes", potluck.ManifestFile, maxManifest)
	}
	return potluck.ParseManifest(b)
}

// checkManifestFiles: the manifest lists exactly the uploaded files (but
// itself), with their sizes, digests and CIDs.
func checkManifestFiles(man *potluck.Manifest, a *admission) error {
	listed := map[string]potluck.File{}
	for _, f := range man.Files {
		listed[f.Path] = f
	}
	for i, f := range a.up.Files {
		if f.Path == potluck.ManifestFile {
			continue
		}
		got := a.staged[i].Info.Describe(f.Path)
		if want, ok := listed[f.Path]; !ok || want != got {
			return fmt.Errorf("%w: manifest: file %q is listed as %+v, uploaded %+v", ErrRejected, f.Path, want, got)
		}
		delete(listed, f.Path)
	}
	for p := range listed {
		return fmt.Errorf("%w: manifest lists file %q, which was not uploaded", ErrRejected, p)
	}
	return nil
}

// checkManifestTensors: the manifest lists exactly the delta's tensors where
// they are, with the right digests, and every value is finite.
func checkManifestTensors(man *potluck.Manifest, m *merge.Model, sums map[string][32]byte) error {
	if len(man.Tensors) != len(m.Names()) {
		return fmt.Errorf("%w: manifest lists %d tensors, the files hold %d", ErrRejected, len(man.Tensors), len(m.Names()))
	}
	for _, mt := range man.Tensors {
		t, ok := m.Tensor(mt.Name)
		if !ok {
			return fmt.Errorf("%w: manifest: tensor %q is in no uploaded file", ErrRejected, mt.Name)
		}
		if string(t.DType) != mt.DType || t.File != mt.File || t.Start != mt.Offset || t.Size() != mt.Length || fmt.Sprint(t.Shape) != fmt.Sprint(mt.Shape) || mt.Encoding != merge.Encoding(m, mt.Name) {
			return fmt.Errorf("%w: manifest: tensor %q is listed as %s%v in %s at %d+%d (%s), found %s%v in %s at %d+%d",
				ErrRejected, mt.Name, mt.DType, mt.Shape, mt.File, mt.Offset, mt.Length, mt.Encoding, t.DType, t.Shape, t.File, t.Start, t.Size())
		}
		sum := sums[mt.Name]
		if potluck.HexDigest(sum) != mt.SHA256 {
			return fmt.Errorf("%w: manifest: tensor %q: sha256 %s, listed %s", ErrRejected, mt.Name, potluck.HexDigest(sum), mt.SHA256)
		}
	}
	return nil
}
