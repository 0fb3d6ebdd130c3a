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

// admit checks staged bytes before anything is committed, recording each
// check in s: every safetensors header is valid (format); for a delta, its
// manifest agrees with the upload (manifest), every tensor fits the base
// (fit, sparse), every value is finite and every digest right (values), and
// every tensor's norm is within the bound of its base's (norm).
func (h *Hub) admit(ctx context.Context, a *admission, s *screen) error {
	var upload, base *merge.Model
	defer func() {
		for _, m := range []*merge.Model{upload, base} {
			if m != nil {
				m.Close()
			}
		}
	}()
	var man *potluck.Manifest
	steps := []struct {
		name string
		f    func() error
	}{
		{"format", func() (err error) {
			upload, err = merge.OpenModel("upload", stagedSource{a})
			return rejected(err)
		}},
		{"manifest", func() (err error) {
			if man, err = readManifest(upload); err != nil {
				return rejected(err)
			}
			if man.Kind != potluck.KindDelta || man.Base != a.up.Base {
				return fmt.Errorf("%w: manifest says %s of base %s; the upload is a delta of %s", ErrRejected, man.Kind, man.Base, a.up.Base)
			}
			return checkManifestFiles(man, a)
		}},
		{"fit", func() error {
			baseRel, err := h.releases.get(a.up.Base)
			if err != nil {
				return err
			}
			if base, err = h.openRelease(ctx, baseRel); err != nil {
				return err
			}
			return rejected(merge.CheckDelta(base, upload))
		}},
		{"sparse", func() error { return rejected(merge.CheckSparseIndices(base, upload)) }},
		{"values", func() error { return checkManifestTensors(man, upload) }},
		{"norm", func() error { return h.checkNorms(a.up.Base, base, upload) }},
		{"cosine", func() error { return h.checkCosine(ctx, a.up.Base, upload) }},
	}
	for i, st := range steps {
		if i == 1 && a.up.Kind != potluck.KindDelta {
			return nil
		}
		if err := s.run(st.name, st.f); err != nil {
			return err
		}
	}
	return nil
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
