package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// DiskBackend keeps objects as files under one folder, a key's slashes
// becoming folders ("files/<cid>" is ROOT/files/<cid>, the layout stores had
// before backends existed). Each object is written to a temporary file,
// synced, made read-only and hard-linked into place: link(2) fails if the
// name exists, which gives write-once without a lock, and a crash leaves at
// most a temporary file, never a partial object.
type DiskBackend struct{ root string }

// NewDiskBackend opens (creating if needed) a disk backend rooted at dir.
func NewDiskBackend(dir string) (*DiskBackend, error) {
	for _, sub := range []string{".tmp", "files"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("store: disk backend %s: %w", dir, err)
		}
	}
	return &DiskBackend{root: dir}, nil
}

func (d *DiskBackend) path(key string) (string, error) {
	if key == "" || path.Clean(key) != key || strings.HasPrefix(key, "/") || strings.HasPrefix(key, ".") || strings.Contains(key, "/.") {
		return "", fmt.Errorf("%w: object key %q", ErrInvalid, key)
	}
	return filepath.Join(d.root, filepath.FromSlash(key)), nil
}

// Put writes r to a temporary file and links it into place.
func (d *DiskBackend) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if _, err := d.path(key); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Join(d.root, ".tmp"), "put-*")
	if err != nil {
		return fmt.Errorf("store: put %s: %w", key, err)
	}
	defer os.Remove(tmp.Name())
	n, err := io.Copy(tmp, r)
	if err == nil && n != size {
		err = fmt.Errorf("%w: %d bytes, expected %d", ErrInvalid, n, size)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if err = errors.Join(err, tmp.Close()); err != nil {
		return fmt.Errorf("store: put %s: %w", key, err)
	}
	return d.Link(ctx, key, tmp.Name())
}

// Link makes the file at p (on the same file system, and never written
// again) the object key without copying it: the fast path for committing a
// staged import. The file stays at p too; the caller removes that name.
func (d *DiskBackend) Link(_ context.Context, key, p string) error {
	dst, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Chmod(p, 0o444); err != nil {
		return fmt.Errorf("store: put %s: %w", key, err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("store: put %s: %w", key, err)
	}
	err = os.Link(p, dst)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%w: %s", ErrExists, key)
	}
	if err != nil {
		return fmt.Errorf("store: put %s: %w", key, err)
	}
	return syncDir(filepath.Dir(dst))
}

// isCrossDevice reports a link that failed because p lies on another file
// system, where the caller should copy instead.
func isCrossDevice(err error) bool { return errors.Is(err, syscall.EXDEV) }

// Open opens an object's file.
func (d *DiskBackend) Open(_ context.Context, key string) (Object, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: object %s", ErrNotFound, key)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", key, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("store: open %s: %w", key, err)
	}
	return diskObject{File: f, size: st.Size()}, nil
}

type diskObject struct {
	*os.File
	size int64
}

func (o diskObject) Size() int64 { return o.size }

// Stat describes an object's file.
func (d *DiskBackend) Stat(_ context.Context, key string) (ObjectInfo, error) {
	p, err := d.path(key)
	if err != nil {
		return ObjectInfo{}, err
	}
	st, err := os.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		return ObjectInfo{}, fmt.Errorf("%w: object %s", ErrNotFound, key)
	}
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("store: stat %s: %w", key, err)
	}
	return ObjectInfo{Key: key, Size: st.Size(), Modified: st.ModTime()}, nil
}

// List reads the folder prefix names (keys are one level under a kind, as
// the store makes them), skipping hidden temporary names.
func (d *DiskBackend) List(_ context.Context, prefix string, fn func(ObjectInfo) error) error {
	dir, namePrefix := path.Split(prefix)
	ents, err := os.ReadDir(filepath.Join(d.root, filepath.FromSlash(dir)))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: list %s: %w", prefix, err)
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	for _, e := range ents {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") || !strings.HasPrefix(e.Name(), namePrefix) {
			continue
		}
		info, err := e.Info()
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted while listing
		}
		if err != nil {
			return fmt.Errorf("store: list %s: %w", prefix, err)
		}
		if err := fn(ObjectInfo{Key: dir + e.Name(), Size: info.Size(), Modified: info.ModTime()}); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes an object's file.
func (d *DiskBackend) Delete(_ context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("store: delete %s: %w", key, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
