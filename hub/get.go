package hub

import (
	"context"
	"fmt"
	"io"

	cid "github.com/ipfs/go-cid"

	"github.com/potluck-hub/potluck/store"
)

// SectionCloser is a byte range of an open stored file.
type SectionCloser struct {
	*io.SectionReader
	io.Closer
}

// Range opens bytes [offset, offset+length) (length 0: to the end) of a
// stored file, named by its CID or by a release CID and a path inside it.
// It returns the section and its starting offset.
func (h *Hub) Range(ctx context.Context, c, path string, offset, length uint64) (*SectionCloser, int64, error) {
	fileCID, err := h.resolveFile(ctx, c, path)
	if err != nil {
		return nil, 0, err
	}
	f, err := h.store.Open(ctx, fileCID)
	if err != nil {
		return nil, 0, err
	}
	n := int64(length)
	if length == 0 {
		n = -1 // to the end
	}
	if offset > 1<<62 || length > 1<<62 {
		f.Close()
		return nil, 0, fmt.Errorf("%w: range %d+%d", store.ErrInvalid, offset, length)
	}
	sec, err := f.Range(int64(offset), n)
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return &SectionCloser{SectionReader: sec, Closer: f}, int64(offset), nil
}

func (h *Hub) resolveFile(ctx context.Context, c, path string) (cid.Cid, error) {
	if path != "" {
		r, err := h.releases.get(c)
		if err != nil {
			return cid.Undef, err
		}
		f, ok := r.File(path)
		if !ok {
			return cid.Undef, fmt.Errorf("%w: %q in release %s", ErrNotFound, path, c)
		}
		c = f.CID
	}
	parsed, err := cid.Decode(c)
	if err != nil {
		return cid.Undef, fmt.Errorf("%w: %q is not a CID: %v", store.ErrInvalid, c, err)
	}
	return parsed, nil
}
