package hub

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/merge"
)

// maxManifest bounds a manifest's size: it lists files and tensors, a few
// hundred bytes each.
const maxManifest = 64 << 20

// admit checks staged bytes before anything is committed: every safetensors
// header is valid; for a delta, its manifest agrees with the upload, every
// tensor fits the base, and every value is finite.
func (h *Hub) admit(ctx context.Context, a *admission) error {
	upload, err := merge.OpenModel("upload", stagedSource{a})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRejected, err)
	}
	defer upload.Close()
	if a.up.Kind != potluck.KindDelta {
		return nil
	}
	man, err := readManifest(upload)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRejected, err)
	}
	if man.Kind != potluck.KindDelta || man.Base != a.up.Base {
		return fmt.Errorf("%w: manifest says %s of base %s; the upload is a delta of %s", ErrRejected, man.Kind, man.Base, a.up.Base)
	}
	if err := checkManifestFiles(man, a); err != nil {
		return err
	}
	baseRel, err := h.releases.get(a.up.Base)
	if err != nil {
		return err
	}
	base, err := h.openRelease(ctx, baseRel)
	if err != nil {
		return err
	}
	defer base.Close()
	if err := merge.CheckDelta(base, upload); err != nil {
		return fmt.Errorf("%w: %w", ErrRejected, err)
	}
	if err := merge.CheckSparseIndices(base, upload); err != nil {
		return fmt.Errorf("%w: %w", ErrRejected, err)
	}
	return checkManifestTensors(man, upload)
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
		info := a.staged[i].Info
		got := potluck.File{Path: f.Path, Size: info.Size, SHA256: potluck.HexDigest(info.SHA256), CID: info.CID.String()}
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
func checkManifestTensors(man *potluck.Manifest, m *merge.Model) error {
	if len(man.Tensors) != len(m.Names()) {
		return fmt.Errorf("%w: manifest lists %d tensors, the files hold %d", ErrRejected, len(man.Tensors), len(m.Names()))
	}
	for _, mt := range man.Tensors {
		t, ok := m.Tensor(mt.Name)
		if !ok {
			return fmt.Errorf("%w: manifest: tensor %q is in no uploaded file", ErrRejected, mt.Name)
		}
		if string(t.DType) != mt.DType || t.File != mt.File || t.Start != mt.Offset || t.Size() != mt.Length || fmt.Sprint(t.Shape) != fmt.Sprint(mt.Shape) || mt.Encoding != encodingOf(mt.Name) {
			return fmt.Errorf("%w: manifest: tensor %q is listed as %s%v in %s at %d+%d (%s), found %s%v in %s at %d+%d",
				ErrRejected, mt.Name, mt.DType, mt.Shape, mt.File, mt.Offset, mt.Length, mt.Encoding, t.DType, t.Shape, t.File, t.Start, t.Size())
		}
		sum, err := m.ScanTensor(mt.Name)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrRejected, err)
		}
		if potluck.HexDigest(sum) != mt.SHA256 {
			return fmt.Errorf("%w: manifest: tensor %q: sha256 %s, listed %s", ErrRejected, mt.Name, potluck.HexDigest(sum), mt.SHA256)
		}
	}
	return nil
}

// encodingOf is the manifest encoding a delta entry must declare: "sparse"
// for the #indices and #values entries of a sparse tensor, else "dense".
func encodingOf(name string) string {
	if strings.HasSuffix(name, merge.SparseIndices) || strings.HasSuffix(name, merge.SparseValues) {
		return "sparse"
	}
	return "dense"
}
