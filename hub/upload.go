package hub

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/signing"
	"github.com/potluck-hub/potluck/store"
)

// An upload: what a client declares, the admission stages that check the
// declaration before any byte (header, signature, base; access is in
// auth.go), the one that stages the bytes, and the commit. The stages after
// it are in admit.go; pipeline.go lists them per kind of release.

// ErrRejected reports an upload the hub refuses: a bad header, bytes that do
// not match what was declared and signed, a delta that does not fit its base.
var ErrRejected = errors.New("hub: rejected")

// MaxChunk is the most data one upload chunk may carry.
const MaxChunk = 4 << 20

// maxFiles bounds the files of one release.
const maxFiles = 10000

// UploadFile is one file an upload declares.
type UploadFile struct {
	Path   string
	Size   int64
	SHA256 [32]byte
	CID    string // optional; checked when given
}

// Upload is what a client declares before sending bytes.
type Upload struct {
	Kind   potluck.Kind
	Files  []UploadFile
	Bundle []byte
	Base   string // for a delta: its base's CID
}

// Chunk is a piece of one file of an upload.
type Chunk struct {
	File   int
	Offset int64
	Data   []byte
}

// ChunkSource yields the chunks sent into an upload session, and io.EOF
// after the last.
type ChunkSource interface {
	Next() (Chunk, error)
}

// checkHeader refuses a malformed header before any byte is sent.
func (h *Hub) checkHeader(_ context.Context, a *admission) error {
	up := a.up
	if up.Kind != potluck.KindBase && up.Kind != potluck.KindDelta {
		return fmt.Errorf("%w: kind %q cannot be uploaded", ErrRejected, up.Kind)
	}
	if len(up.Files) == 0 || len(up.Files) > maxFiles {
		return fmt.Errorf("%w: %d files (want 1 to %d)", ErrRejected, len(up.Files), maxFiles)
	}
	seen := map[string]bool{}
	for _, f := range up.Files {
		if err := store.CheckPath(f.Path); err != nil {
			return fmt.Errorf("%w: %v", ErrRejected, err)
		}
		if seen[f.Path] || f.Path == signing.SignatureFile || f.Size < 0 {
			return fmt.Errorf("%w: file %q is duplicated, reserved or has a negative size", ErrRejected, f.Path)
		}
		seen[f.Path] = true
	}
	return checkFileDirs(seen)
}

// checkFileDirs: no declared file is also a directory of another ("a" and
// "a/b"): no directory could hold both.
func checkFileDirs(files map[string]bool) error {
	for _, p := range slices.Sorted(maps.Keys(files)) {
		for i := strings.IndexByte(p, '/'); i >= 0; i = next(p, i) {
			if files[p[:i]] {
				return fmt.Errorf("%w: file %q is also the directory of file %q: rename one of them", ErrRejected, p[:i], p)
			}
		}
	}
	return nil
}

// next is the index of the slash after the one at i in p, or -1.
func next(p string, i int) int {
	j := strings.IndexByte(p[i+1:], '/')
	if j < 0 {
		return -1
	}
	return i + 1 + j
}

// checkSignature: the bundle is signed by a member key valid now and covers
// exactly the declared files.
func (h *Hub) checkSignature(_ context.Context, a *admission) error {
	res := make([]signing.Resource, len(a.up.Files))
	for i, f := range a.up.Files {
		res[i] = signing.Resource{Name: f.Path, Digest: f.SHA256}
	}
	ms := h.members.Load() // one version of the members for both steps
	v, err := signing.VerifyBundle(a.up.Bundle, ms.Keys())
	if err != nil {
		return err
	}
	if err := v.Match(res); err != nil {
		return fmt.Errorf("%w: the signature does not cover the declared files: %w", ErrRejected, err)
	}
	mk, _ := ms.Key(v.Key) // VerifyBundle only accepts member keys
	if err := mk.ValidAt(h.opts.Now()); err != nil {
		return err
	}
	a.signed = v
	a.org = mk.Org
	return nil
}

// checkBase: a delta names a full model the hub holds, a base or a merge,
// not yanked (chain.go). A base builds on none: it passes, so that every
// upload's record names the same first checks.
func (h *Hub) checkBase(_ context.Context, a *admission) error {
	up := a.up
	if up.Kind != potluck.KindDelta {
		return nil
	}
	base, err := h.releases.get(up.Base)
	if err != nil {
		return fmt.Errorf("%w: delta for base %q: %w", ErrRejected, up.Base, err)
	}
	return buildOn(base, "delta for base")
}

// stageParts stages the complete part files of the admission's session in
// the store as they are (no copy; hashed as they arrived, or here in place
// if the hub restarted meanwhile) and checks them against the declaration.
func (h *Hub) stageParts(ctx context.Context, a *admission) error {
	s := a.parts
	for i, f := range a.up.Files {
		p, hs, err := s.complete(i, f.Size)
		if err != nil {
			return fmt.Errorf("upload: file %q: %w", f.Path, err)
		}
		st, err := h.store.AddFile(p, hs)
		if err != nil {
			return fmt.Errorf("upload: file %q: %w", f.Path, err)
		}
		a.staged = append(a.staged, st)
		if err := checkStaged(f, st.Info); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

func checkStaged(f UploadFile, got store.FileInfo) error {
	if got.SHA256 != f.SHA256 {
		return fmt.Errorf("%w: file %q: sha256 %s, declared and signed %s", ErrRejected, f.Path,
			potluck.HexDigest(got.SHA256), potluck.HexDigest(f.SHA256))
	}
	if f.CID != "" && f.CID != got.CID.String() {
		return fmt.Errorf("%w: file %q: CID %s, declared %s", ErrRejected, f.Path, got.CID, f.CID)
	}
	return nil
}

// commit makes the staged files visible, builds the release directory and
// records the release with the checks it passed.
func (h *Hub) commit(ctx context.Context, a *admission) (*potluck.Release, error) {
	entries := make([]store.Entry, len(a.staged))
	files := make([]potluck.File, len(a.staged))
	for i, st := range a.staged {
		if err := st.Commit(ctx); err != nil {
			return nil, err
		}
		p := a.up.Files[i].Path
		entries[i] = store.Entry{Path: p, File: st.Info}
		files[i] = st.Info.Describe(p)
	}
	root, err := h.store.PutDir(ctx, entries)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(files, func(x, y potluck.File) int { return strings.Compare(x.Path, y.Path) })
	r := &potluck.Release{
		CID: root.String(), Kind: a.up.Kind, Base: a.up.Base, Publisher: a.org, Files: files,
		Bundle: a.up.Bundle, KeyHint: a.signed.Key.Hint(), Created: h.opts.Now().UTC(), Checks: a.checks,
	}
	return h.record(r, nil)
}
