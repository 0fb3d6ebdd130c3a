package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/cockroachdb/pebble/v2"
	cid "github.com/ipfs/go-cid"
	ds "github.com/ipfs/go-datastore"
	pebbleds "github.com/ipfs/go-ds-pebble"
)

// Store is a content store: the objects in a Backend (each file whole, its
// sidecar of interior nodes, directories, pins), plus a local folder:
//
//	staging/   files being imported; never visible
//	meta/      embedded database (pebble): an index of the backend's
//	           sidecars, so a block is found without asking the backend
//
// The backend is the truth and the index a cache of it: a file the index
// lacks (committed by another hub sharing the bucket, or before the index
// was lost) is looked up in the backend and indexed on first use. A file is
// visible once its sidecar object is written, after its bytes, so a crash
// at any moment leaves it absent or whole.
type Store struct {
	dir string
	db  *pebbleds.Datastore
	b   Backend
}

// Options configure a store.
type Options struct {
	// Backend holds the files and their sidecars. Nil means local disk in
	// the store's folder (DiskBackend).
	Backend Backend
}

// Open opens (creating if needed) the store whose local folder is dir.
func Open(dir string, opts Options) (*Store, error) {
	if err := os.MkdirAll(filepath.Join(dir, "staging"), 0o755); err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dir, err)
	}
	b := opts.Backend
	if b == nil {
		d, err := NewDiskBackend(dir)
		if err != nil {
			return nil, err
		}
		b = d
	}
	db, err := pebbleds.NewDatastore(filepath.Join(dir, "meta"), pebbleds.WithPebbleWriteOptions(pebble.Sync))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dir, err)
	}
	s := &Store{dir: dir, db: db, b: b}
	if err := s.reindexIfNew(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", dir, err)
	}
	return s, nil
}

// indexedKey marks an index built from the backend at least once.
var indexedKey = ds.NewKey("/v/indexed")

// reindexIfNew fills a new (or lost) index from the backend's sidecars, so
// a hub joining a shared bucket, or rebuilding its disk, serves every block
// at once. Later commits by other hubs are indexed on first use.
func (s *Store) reindexIfNew(ctx context.Context) error {
	if ok, err := s.db.Has(ctx, indexedKey); err != nil || ok {
		return err
	}
	if err := s.Reindex(ctx); err != nil {
		return err
	}
	return s.db.Put(ctx, indexedKey, []byte{1})
}

// Reindex indexes every file and directory tree the backend holds.
func (s *Store) Reindex(ctx context.Context) error {
	for _, prefix := range []string{nodesPrefix, dirsPrefix} {
		err := s.list(ctx, prefix, func(c cid.Cid, _ ObjectInfo) error {
			// A damaged sidecar is left out, not fatal: the file it
			// describes reports ErrCorrupt when asked for.
			if err := s.load(ctx, c); err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrCorrupt) {
				return fmt.Errorf("reindexing %s: %w", c, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Close releases the database.
func (s *Store) Close() error { return s.db.Close() }

// Backend returns the backend the store keeps its objects in.
func (s *Store) Backend() Backend { return s.b }

func nodeKey(c cid.Cid) ds.Key { return ds.NewKey("/n/" + c.String()) }
func leafKey(c cid.Cid) ds.Key { return ds.NewKey("/l/" + c.String()) }
func fileKey(c cid.Cid) ds.Key { return ds.NewKey("/f/" + c.String()) }

// FileKey, NodesKey and DirsKey name a file's objects in the backend: its
// bytes, its sidecar (the commit record), a directory tree's nodes.
func FileKey(c cid.Cid) string  { return filesPrefix + c.String() }
func NodesKey(c cid.Cid) string { return nodesPrefix + c.String() }
func DirsKey(c cid.Cid) string  { return dirsPrefix + c.String() }

// fileRecord is what the index (and the head of a sidecar) keeps of a
// committed file.
type fileRecord struct {
	Size      int64    `json:"size"`
	TSize     uint64   `json:"tsize"`
	SHA256    [32]byte `json:"sha256"`
	Committed int64    `json:"committed,omitempty"` // Unix seconds; GC spares young files
}

// Stat returns a committed file's info.
func (s *Store) Stat(ctx context.Context, c cid.Cid) (FileInfo, error) {
	rec, err := s.record(ctx, c)
	if err != nil {
		return FileInfo{}, err
	}
	return FileInfo{CID: c, Size: rec.Size, TSize: rec.TSize, SHA256: rec.SHA256}, nil
}

func (s *Store) record(ctx context.Context, c cid.Cid) (fileRecord, error) {
	b, err := s.db.Get(ctx, fileKey(c))
	if errors.Is(err, ds.ErrNotFound) {
		if err = s.load(ctx, c); err == nil {
			b, err = s.db.Get(ctx, fileKey(c))
		}
	}
	if errors.Is(err, ds.ErrNotFound) || errors.Is(err, ErrNotFound) {
		return fileRecord{}, fmt.Errorf("%w: file %s", ErrNotFound, c)
	}
	if err != nil {
		return fileRecord{}, fmt.Errorf("store: stat %s: %w", c, err)
	}
	var rec fileRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return fileRecord{}, fmt.Errorf("%w: record of %s: %v", ErrCorrupt, c, err)
	}
	return rec, nil
}

// Has reports whether a file is committed.
func (s *Store) Has(ctx context.Context, c cid.Cid) (bool, error) {
	_, err := s.record(ctx, c)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// File is an open stored file: read any byte range without reading the rest.
type File struct {
	obj  Object
	info FileInfo
}

// Open opens a committed file for range reads.
func (s *Store) Open(ctx context.Context, c cid.Cid) (*File, error) {
	info, err := s.Stat(ctx, c)
	if err != nil {
		return nil, err
	}
	obj, err := s.b.Open(ctx, FileKey(c))
	if errors.Is(err, ErrUnavailable) {
		return nil, fmt.Errorf("file %s: %w", c, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: file %s is recorded but unreadable: %v", ErrCorrupt, c, err)
	}
	if obj.Size() != info.Size {
		obj.Close()
		return nil, fmt.Errorf("%w: file %s has %d bytes, recorded %d", ErrCorrupt, c, obj.Size(), info.Size)
	}
	return &File{obj: obj, info: info}, nil
}

// Info returns the file's CID, size and digest.
func (f *File) Info() FileInfo { return f.info }

// Size returns the file's length in bytes.
func (f *File) Size() int64 { return f.info.Size }

// ReadAt reads len(p) bytes at off.
func (f *File) ReadAt(p []byte, off int64) (int, error) { return f.obj.ReadAt(p, off) }

// Range returns a reader over n bytes at off (n < 0: to the end), or an
// ErrInvalid error if the range does not lie inside the file.
func (f *File) Range(off, n int64) (*io.SectionReader, error) {
	if n < 0 {
		n = f.info.Size - off
	}
	if off < 0 || n < 0 || off+n > f.info.Size {
		return nil, fmt.Errorf("%w: range [%d, %d) outside file %s of %d bytes", ErrInvalid, off, off+n, f.info.CID, f.info.Size)
	}
	return io.NewSectionReader(f.obj, off, n), nil
}

// Close closes the file.
func (f *File) Close() error { return f.obj.Close() }

func now() int64 { return time.Now().Unix() }
