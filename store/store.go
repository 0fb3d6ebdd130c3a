package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2"
	cid "github.com/ipfs/go-cid"
	ds "github.com/ipfs/go-datastore"
	pebbleds "github.com/ipfs/go-ds-pebble"
)

// Store is the local-disk content store under one data folder:
//
//	files/<cid>   each stored file, whole and read-only
//	staging/      files being imported; never visible
//	meta/         embedded database (pebble): interior nodes, leaf index, file records
//
// A file is visible only once its record is written, after its bytes and
// nodes are in place, so a crash at any moment leaves it absent or whole.
type Store struct {
	dir string
	db  *pebbleds.Datastore
}

// Open opens (creating if needed) the store in dir.
func Open(dir string) (*Store, error) {
	for _, sub := range []string{"files", "staging"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("store: open %s: %w", dir, err)
		}
	}
	db, err := pebbleds.NewDatastore(filepath.Join(dir, "meta"), pebbleds.WithPebbleWriteOptions(pebble.Sync))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dir, err)
	}
	return &Store{dir: dir, db: db}, nil
}

// Close releases the database.
func (s *Store) Close() error { return s.db.Close() }

func nodeKey(c cid.Cid) ds.Key { return ds.NewKey("/n/" + c.String()) }
func leafKey(c cid.Cid) ds.Key { return ds.NewKey("/l/" + c.String()) }
func fileKey(c cid.Cid) ds.Key { return ds.NewKey("/f/" + c.String()) }

func (s *Store) filePath(c cid.Cid) string { return filepath.Join(s.dir, "files", c.String()) }

// fileRecord is what the database keeps of a committed file.
type fileRecord struct {
	Size   int64    `json:"size"`
	TSize  uint64   `json:"tsize"`
	SHA256 [32]byte `json:"sha256"`
}

// Stat returns a committed file's info.
func (s *Store) Stat(ctx context.Context, c cid.Cid) (FileInfo, error) {
	b, err := s.db.Get(ctx, fileKey(c))
	if errors.Is(err, ds.ErrNotFound) {
		return FileInfo{}, fmt.Errorf("%w: file %s", ErrNotFound, c)
	}
	if err != nil {
		return FileInfo{}, fmt.Errorf("store: stat %s: %w", c, err)
	}
	var rec fileRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return FileInfo{}, fmt.Errorf("%w: record of %s: %v", ErrCorrupt, c, err)
	}
	return FileInfo{CID: c, Size: rec.Size, TSize: rec.TSize, SHA256: rec.SHA256}, nil
}

// Has reports whether a file is committed.
func (s *Store) Has(ctx context.Context, c cid.Cid) (bool, error) {
	return s.db.Has(ctx, fileKey(c))
}

// File is an open stored file: read any byte range without reading the rest.
type File struct {
	f    *os.File
	info FileInfo
}

// Open opens a committed file for range reads.
func (s *Store) Open(ctx context.Context, c cid.Cid) (*File, error) {
	info, err := s.Stat(ctx, c)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(s.filePath(c))
	if err != nil {
		return nil, fmt.Errorf("%w: file %s is recorded but unreadable: %v", ErrCorrupt, c, err)
	}
	st, err := f.Stat()
	if err == nil && st.Size() != info.Size {
		err = fmt.Errorf("%w: file %s has %d bytes, recorded %d", ErrCorrupt, c, st.Size(), info.Size)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return &File{f: f, info: info}, nil
}

// Info returns the file's CID, size and digest.
func (f *File) Info() FileInfo { return f.info }

// Size returns the file's length in bytes.
func (f *File) Size() int64 { return f.info.Size }

// ReadAt reads len(p) bytes at off.
func (f *File) ReadAt(p []byte, off int64) (int, error) { return f.f.ReadAt(p, off) }

// Range returns a reader over n bytes at off (n < 0: to the end), or an
// ErrInvalid error if the range does not lie inside the file.
func (f *File) Range(off, n int64) (*io.SectionReader, error) {
	if n < 0 {
		n = f.info.Size - off
	}
	if off < 0 || n < 0 || off+n > f.info.Size {
		return nil, fmt.Errorf("%w: range [%d, %d) outside file %s of %d bytes", ErrInvalid, off, off+n, f.info.CID, f.info.Size)
	}
	return io.NewSectionReader(f.f, off, n), nil
}

// Close closes the file.
func (f *File) Close() error { return f.f.Close() }
