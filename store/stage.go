package store

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Staged is a file imported into staging: its bytes and the sidecar of its
// interior nodes are on local disk, but nothing is visible until Commit.
// Staging is local whatever the backend, so admission can read a file
// before the store accepts it, and an object is written with its size known.
type Staged struct {
	Info    FileInfo
	s       *Store
	data    string // staging data file
	sidecar string // staging node/leaf records
}

// Add imports r into staging, computing its CID and SHA-256 as it goes.
// Memory stays bounded whatever the file's size: bytes go to disk, and the
// interior nodes to a sidecar file. On error nothing is left behind.
func (s *Store) Add(r io.Reader) (_ *Staged, err error) {
	data, err := os.CreateTemp(filepath.Join(s.dir, "staging"), "*.data")
	if err != nil {
		return nil, fmt.Errorf("store: add: %w", err)
	}
	side, err := os.Create(data.Name() + ".nodes")
	if err != nil {
		data.Close()
		os.Remove(data.Name())
		return nil, fmt.Errorf("store: add: %w", err)
	}
	st := &Staged{s: s, data: data.Name(), sidecar: side.Name()}
	defer func() {
		if err != nil {
			st.Discard()
		}
	}()
	sw := &sidecarWriter{w: bufio.NewWriter(side)}
	info, err := importFile(r, sw, data)
	if err == nil {
		err = errors.Join(sw.w.Flush(), data.Sync(), side.Sync())
	}
	err = errors.Join(err, data.Close(), side.Close())
	if err != nil {
		return nil, fmt.Errorf("store: add: %w", err)
	}
	st.Info = info
	return st, nil
}

// Discard removes the staged files. Safe to call more than once.
func (st *Staged) Discard() {
	os.Remove(st.data)
	os.Remove(st.sidecar)
}

// Open opens the staged bytes for reading, so the caller can inspect a file
// (parse its header, scan its values) before deciding to commit it.
func (st *Staged) Open() (*os.File, error) { return os.Open(st.data) }

// Commit makes the staged file visible: its bytes into the backend, then its
// sidecar (the commit point), then the index. Committing a file the store
// already holds just discards the staging, and a writer that finds an
// object already written by another (ErrExists) goes on: the key is the
// content's hash, so the object holds the same bytes.
func (st *Staged) Commit(ctx context.Context) error {
	s, c := st.s, st.Info.CID
	defer st.Discard()
	if ok, err := s.Has(ctx, c); err != nil || ok {
		return err
	}
	if err := s.putData(ctx, st); err != nil && !errors.Is(err, ErrExists) {
		return fmt.Errorf("store: commit %s: %w", c, err)
	}
	if err := s.withSidecar(st, func(r io.Reader, size int64) error {
		err := s.b.Put(ctx, NodesKey(c), r, size)
		if errors.Is(err, ErrExists) {
			return nil
		}
		return err
	}); err != nil {
		return fmt.Errorf("store: commit %s: %w", c, err)
	}
	// Index from the staged copy: the same records, without reading back.
	if err := s.withSidecar(st, func(r io.Reader, _ int64) error { return s.index(ctx, c, r) }); err != nil {
		return fmt.Errorf("store: commit %s: indexing: %w", c, err)
	}
	return nil
}

// putData writes the staged bytes as the object files/<cid>, linking the
// staging file when the backend is local disk on the same file system.
func (s *Store) putData(ctx context.Context, st *Staged) error {
	key := FileKey(st.Info.CID)
	if d, ok := s.b.(*DiskBackend); ok {
		if err := d.Link(ctx, key, st.data); !isCrossDevice(err) {
			return err
		}
	}
	f, err := openStaged(st.data, st.Info.Size)
	if err != nil {
		return err
	}
	defer f.Close()
	return s.b.Put(ctx, key, f, st.Info.Size)
}

// withSidecar calls fn with a reader over the object nodes/<cid>: the
// file's record, then the staged sidecar's records.
func (s *Store) withSidecar(st *Staged, fn func(r io.Reader, size int64) error) error {
	head := recordHeader(fileRecord{Size: st.Info.Size, TSize: st.Info.TSize, SHA256: st.Info.SHA256, Committed: now()})
	f, err := os.Open(st.sidecar)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	return fn(io.MultiReader(bytes.NewReader(head), f), int64(len(head))+fi.Size())
}
