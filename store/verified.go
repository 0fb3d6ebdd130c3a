package store

import (
	"context"
	"fmt"
	"io"
	"sync"

	cid "github.com/ipfs/go-cid"
)

// VerifiedFile is a stored file whose every read is checked against its CID:
// the 256 KiB chunks a read touches are read whole and re-hashed against the
// file's raw leaves, so bytes altered on disk are reported (ErrCorrupt), never
// returned. The last chunk checked is kept, so sequential reads hash each
// chunk once.
type VerifiedFile struct {
	f      *File
	leaves []cid.Cid // raw leaves in file order
	mu     sync.Mutex
	idx    int    // chunk held in buf, -1 for none
	buf    []byte // its verified bytes
}

// OpenVerified opens a committed file for checked range reads.
func (s *Store) OpenVerified(ctx context.Context, c cid.Cid) (*VerifiedFile, error) {
	f, err := s.Open(ctx, c)
	if err != nil {
		return nil, err
	}
	leaves, err := s.leaves(ctx, c)
	if err == nil && int64(len(leaves)) != max(1, (f.Size()+ChunkSize-1)/ChunkSize) {
		err = fmt.Errorf("%w: file %s of %d bytes has %d leaves", ErrCorrupt, c, f.Size(), len(leaves))
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return &VerifiedFile{f: f, leaves: leaves, idx: -1}, nil
}

// leaves lists a file DAG's raw leaves in order, from its interior nodes.
func (s *Store) leaves(ctx context.Context, c cid.Cid) ([]cid.Cid, error) {
	if c.Type() == cid.Raw {
		return []cid.Cid{c}, nil
	}
	nd, _, err := s.node(ctx, c)
	if err != nil {
		return nil, err
	}
	var out []cid.Cid
	for _, l := range nd.Links() {
		sub, err := s.leaves(ctx, l.Cid)
		if err != nil {
			return nil, err
		}
		out = append(out, sub...)
	}
	return out, nil
}

// Size returns the file's length.
func (v *VerifiedFile) Size() int64 { return v.f.Size() }

// Info returns the file's CID, size and digest.
func (v *VerifiedFile) Info() FileInfo { return v.f.Info() }

// ReadAt reads len(p) bytes at off, every one of them checked.
func (v *VerifiedFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("%w: negative offset %d", ErrInvalid, off)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	n := 0
	for n < len(p) {
		if off >= v.f.Size() {
			return n, io.EOF
		}
		i := int(off / ChunkSize)
		if err := v.load(i); err != nil {
			return n, err
		}
		c := copy(p[n:], v.buf[off-int64(i)*ChunkSize:])
		n += c
		off += int64(c)
	}
	return n, nil
}

// load reads chunk i and checks it against leaf i.
func (v *VerifiedFile) load(i int) error {
	if v.idx == i {
		return nil
	}
	start := int64(i) * ChunkSize
	size := min(ChunkSize, v.f.Size()-start)
	if cap(v.buf) < ChunkSize {
		v.buf = make([]byte, ChunkSize)
	}
	v.idx = -1
	v.buf = v.buf[:size]
	if _, err := v.f.ReadAt(v.buf, start); err != nil && err != io.EOF {
		return fmt.Errorf("store: %s: %w", v.f.info.CID, err)
	}
	sum, err := v.leaves[i].Prefix().Sum(v.buf)
	if err != nil {
		return err
	}
	if !sum.Equals(v.leaves[i]) {
		return fmt.Errorf("%w: file %s: bytes %d to %d hash to %s, not %s", ErrCorrupt, v.f.info.CID, start, start+size, sum, v.leaves[i])
	}
	v.idx = i
	return nil
}

// Close closes the file.
func (v *VerifiedFile) Close() error { return v.f.Close() }
