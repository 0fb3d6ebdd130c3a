package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	cid "github.com/ipfs/go-cid"
	ds "github.com/ipfs/go-datastore"
)

// Pin makes root (a file or a directory tree) a GC root: GC keeps it and
// everything under it until Unpin.
func (s *Store) Pin(ctx context.Context, root cid.Cid) error {
	err := s.b.Put(ctx, pinsPrefix+root.String(), strings.NewReader(""), 0)
	if err != nil && !errors.Is(err, ErrExists) {
		return fmt.Errorf("store: pin %s: %w", root, err)
	}
	return nil
}

// Unpin removes a GC root. What it held stays until a GC pass, and stays
// after it if another root reaches it. Whether anything still refers to
// root (a merge, a log entry) is the caller's to check first.
func (s *Store) Unpin(ctx context.Context, root cid.Cid) error {
	return s.b.Delete(ctx, pinsPrefix+root.String())
}

// Pins lists the GC roots.
func (s *Store) Pins(ctx context.Context) ([]cid.Cid, error) {
	var out []cid.Cid
	err := s.list(ctx, pinsPrefix, func(c cid.Cid, _ ObjectInfo) error {
		out = append(out, c)
		return nil
	})
	return out, err
}

// Files calls fn for every committed file, in CID string order.
func (s *Store) Files(ctx context.Context, fn func(cid.Cid) error) error {
	return s.list(ctx, nodesPrefix, func(c cid.Cid, _ ObjectInfo) error { return fn(c) })
}

// list calls fn for the objects under prefix whose names are CIDs.
func (s *Store) list(ctx context.Context, prefix string, fn func(cid.Cid, ObjectInfo) error) error {
	return s.b.List(ctx, prefix, func(o ObjectInfo) error {
		c, err := cid.Decode(strings.TrimPrefix(o.Key, prefix))
		if err != nil {
			return nil // not ours
		}
		return fn(c, o)
	})
}

// GCOptions say what a GC pass keeps besides the pins.
type GCOptions struct {
	// Keep are more roots to keep (a hub passes every release it lists).
	Keep []cid.Cid
	// Grace spares anything written less than this long ago: a file
	// committed by an import whose directory is not yet written, a
	// staging file still being filled.
	Grace time.Duration
}

// GCStats count what a GC pass removed.
type GCStats struct {
	Files   int   // committed files
	Dirs    int   // directory trees
	Orphans int   // bytes of files whose commit never finished, staging leftovers
	Bytes   int64 // file bytes reclaimed
}

// GC removes every file and directory tree that no pin or Keep root
// reaches, from the backend and the index, and the leftovers of commits
// that never finished. A file is made invisible (its sidecar removed)
// before its bytes go, so a pass stopped midway leaves no half state.
func (s *Store) GC(ctx context.Context, opts GCOptions) (GCStats, error) {
	var st GCStats
	cutoff := time.Now().Add(-opts.Grace)
	roots, err := s.Pins(ctx)
	if err != nil {
		return st, err
	}
	live := map[string]bool{}
	for _, r := range append(roots, opts.Keep...) {
		if err := s.mark(ctx, r, live); err != nil {
			return st, fmt.Errorf("store: gc: marking %s: %w", r, err)
		}
	}
	committed := map[string]bool{}
	var keptFiles, keptDirs []cid.Cid
	err = s.list(ctx, dirsPrefix, func(c cid.Cid, o ObjectInfo) error {
		if live[o.Key] || o.Modified.After(cutoff) {
			keptDirs = append(keptDirs, c)
			return nil
		}
		st.Dirs++
		return s.drop(ctx, c, o.Key, "")
	})
	if err == nil {
		err = s.list(ctx, nodesPrefix, func(c cid.Cid, o ObjectInfo) error {
			committed[FileKey(c)] = true
			if live[FileKey(c)] || o.Modified.After(cutoff) {
				keptFiles = append(keptFiles, c)
				return nil
			}
			if info, err := s.b.Stat(ctx, FileKey(c)); err == nil {
				st.Bytes += info.Size
			}
			st.Files++
			return s.drop(ctx, c, o.Key, FileKey(c))
		})
	}
	if err == nil {
		err = s.b.List(ctx, filesPrefix, func(o ObjectInfo) error {
			if committed[o.Key] || o.Modified.After(cutoff) {
				return nil
			}
			// A file committed before stores wrote sidecar objects has
			// only its index record: committed, so not an orphan (and
			// kept, since GC cannot tell what reaches it without one).
			if c, err := cid.Decode(strings.TrimPrefix(o.Key, filesPrefix)); err == nil {
				if ok, err := s.db.Has(ctx, fileKey(c)); err != nil || ok {
					return err
				}
			}
			st.Orphans++
			st.Bytes += o.Size
			return s.b.Delete(ctx, o.Key)
		})
	}
	if err != nil {
		return st, fmt.Errorf("store: gc: %w", err)
	}
	st.Orphans += s.sweepLocal(cutoff)
	if st.Files+st.Dirs > 0 {
		err = s.reindex(ctx, keptFiles, keptDirs)
	}
	return st, err
}

// mark records the objects root needs as live.
func (s *Store) mark(ctx context.Context, c cid.Cid, live map[string]bool) error {
	if live[FileKey(c)] || live[DirsKey(c)] {
		return nil
	}
	if ok, err := s.Has(ctx, c); err != nil || ok {
		live[FileKey(c)] = true
		return err
	}
	nd, fs, err := s.node(ctx, c)
	if errors.Is(err, ErrNotFound) {
		return nil // a root the store does not hold keeps nothing
	}
	if err != nil {
		return err
	}
	if !fs.IsDir() {
		return fmt.Errorf("%w: %s is a file node but no committed file", ErrCorrupt, c)
	}
	live[DirsKey(c)] = true
	for _, l := range nd.Links() {
		if err := s.mark(ctx, l.Cid, live); err != nil {
			return err
		}
	}
	return nil
}

// drop unindexes the sidecar at key (a file's or a tree's), deletes it,
// then deletes data (the file's bytes) if any.
func (s *Store) drop(ctx context.Context, c cid.Cid, key, data string) error {
	if obj, err := s.b.Open(ctx, key); err == nil {
		err = s.unindex(ctx, c, io.NewSectionReader(obj, 0, obj.Size()))
		obj.Close()
		if err != nil {
			return err
		}
	}
	if err := s.db.Delete(ctx, fileKey(c)); err != nil {
		return err
	}
	if err := s.b.Delete(ctx, key); err != nil {
		return err
	}
	if data != "" {
		return s.b.Delete(ctx, data)
	}
	return nil
}

// unindex removes a sidecar's entries from the index. Entries another kept
// file shares come back in reindex.
func (s *Store) unindex(ctx context.Context, file cid.Cid, r io.Reader) error {
	batch, err := s.db.Batch(ctx)
	if err != nil {
		return err
	}
	err = readSidecar(bufio.NewReader(r), func(rec sidecarRecord) error {
		switch rec.kind {
		case 'F':
			return batch.Delete(ctx, fileKey(file))
		case 'L':
			return batch.Delete(ctx, leafKey(rec.cid))
		default:
			return batch.Delete(ctx, nodeKey(rec.cid))
		}
	})
	if err != nil && !errors.Is(err, ds.ErrNotFound) {
		return fmt.Errorf("store: gc: sidecar of %s: %w", file, err)
	}
	return batch.Commit(ctx)
}

// reindex writes the kept sidecars' entries again, restoring any that a
// dropped file or tree shared (the same chunk in two files, say).
func (s *Store) reindex(ctx context.Context, files, dirs []cid.Cid) error {
	for _, c := range append(files, dirs...) {
		if err := s.load(ctx, c); err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("store: gc: reindexing %s: %w", c, err)
		}
	}
	return nil
}

// sweepLocal removes staging files and disk-backend temporaries older than
// cutoff: what a crash during an import or a write leaves.
func (s *Store) sweepLocal(cutoff time.Time) int {
	n := 0
	for _, dir := range []string{filepath.Join(s.dir, "staging"), filepath.Join(s.dir, ".tmp")} {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if info, err := e.Info(); err == nil && info.ModTime().Before(cutoff) && os.Remove(filepath.Join(dir, e.Name())) == nil {
				n++
			}
		}
	}
	return n
}
