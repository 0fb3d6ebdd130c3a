package hub

import (
	"context"
	"fmt"
	"sort"

	cid "github.com/ipfs/go-cid"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/merge"
)

// releaseSource lets the merge engine read a stored release's files by
// range, straight from the store.
type releaseSource struct {
	ctx context.Context
	h   *Hub
	r   *potluck.Release
}

func (s releaseSource) Files() ([]string, error) {
	out := make([]string, len(s.r.Files))
	for i, f := range s.r.Files {
		out[i] = f.Path
	}
	sort.Strings(out)
	return out, nil
}

func (s releaseSource) Open(p string) (merge.ReaderAtCloser, int64, error) {
	f, ok := s.r.File(p)
	if !ok {
		return nil, 0, fmt.Errorf("%w: %q in release %s", ErrNotFound, p, s.r.CID)
	}
	c, err := cid.Decode(f.CID)
	if err != nil {
		return nil, 0, err
	}
	// Merges read through the CID check: the hub signs what it computed
	// from, so bytes altered on its disk must stop the merge.
	sf, err := s.h.store.OpenVerified(s.ctx, c)
	if err != nil {
		return nil, 0, err
	}
	return sf, sf.Size(), nil
}

// openRelease opens a stored release as a model.
func (h *Hub) openRelease(ctx context.Context, r *potluck.Release) (*merge.Model, error) {
	return merge.OpenModel(r.CID, releaseSource{ctx: ctx, h: h, r: r})
}

// stagedSource lets admission read an upload's staged files.
type stagedSource struct{ a *admission }

func (s stagedSource) Files() ([]string, error) {
	out := make([]string, len(s.a.up.Files))
	for i, f := range s.a.up.Files {
		out[i] = f.Path
	}
	sort.Strings(out)
	return out, nil
}

func (s stagedSource) Open(p string) (merge.ReaderAtCloser, int64, error) {
	for i, f := range s.a.up.Files {
		if f.Path == p {
			file, err := s.a.staged[i].Open()
			return file, f.Size, err
		}
	}
	return nil, 0, fmt.Errorf("%w: %q not in the upload", ErrNotFound, p)
}
