package store

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/boxo/ipld/unixfs"
	blocks "github.com/ipfs/go-block-format"
	cid "github.com/ipfs/go-cid"
	ds "github.com/ipfs/go-datastore"
)

// Block returns any block of a stored DAG, re-hashed before it is returned:
// an interior node from the database, a raw leaf read back from its file.
func (s *Store) Block(ctx context.Context, c cid.Cid) (blocks.Block, error) {
	data, err := s.blockData(ctx, c)
	if errors.Is(err, ds.ErrNotFound) && s.load(ctx, c) == nil {
		// A file or tree another writer committed, not yet indexed here.
		data, err = s.blockData(ctx, c)
	}
	if errors.Is(err, ds.ErrNotFound) {
		return nil, fmt.Errorf("%w: block %s", ErrNotFound, c)
	}
	if err != nil {
		return nil, err
	}
	sum, err := c.Prefix().Sum(data)
	if err != nil {
		return nil, fmt.Errorf("store: block %s: %w", c, err)
	}
	if !sum.Equals(c) {
		return nil, fmt.Errorf("%w: block %s hashes to %s", ErrCorrupt, c, sum)
	}
	return blocks.NewBlockWithCid(data, c)
}

// blockData finds a block's bytes through the index: an interior node
// itself, or where a raw leaf lies in its file.
func (s *Store) blockData(ctx context.Context, c cid.Cid) ([]byte, error) {
	data, err := s.db.Get(ctx, nodeKey(c))
	if errors.Is(err, ds.ErrNotFound) {
		data, err = s.readLeaf(ctx, c)
	}
	return data, err
}

func (s *Store) readLeaf(ctx context.Context, c cid.Cid) ([]byte, error) {
	entry, err := s.db.Get(ctx, leafKey(c))
	if err != nil {
		return nil, err
	}
	file, off, size, err := decodeLeaf(entry)
	if err != nil {
		return nil, fmt.Errorf("%w: leaf index of %s: %v", ErrCorrupt, c, err)
	}
	f, err := s.Open(ctx, file)
	if errors.Is(err, ErrNotFound) {
		return nil, ds.ErrNotFound // indexed by a file not (yet) committed
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, size)
	if _, err := f.ReadAt(buf, int64(off)); err != nil && err != io.EOF {
		return nil, fmt.Errorf("store: leaf %s: %w", c, err)
	}
	return buf, nil
}

// PutDir stores the UnixFS directories over entries, whose files must be
// committed already, and returns the root CID, the one `ipfs add -r
// --cid-version=1` gives the same tree. Entries need only Path (and Dir, or
// File.CID); sizes come from the store's records.
func (s *Store) PutDir(ctx context.Context, entries []Entry) (cid.Cid, error) {
	full := make([]Entry, len(entries))
	for i, e := range entries {
		full[i] = e
		if e.Dir {
			continue
		}
		info, err := s.Stat(ctx, e.File.CID)
		if err != nil {
			return cid.Undef, fmt.Errorf("store: directory entry %q: %w", e.Path, err)
		}
		full[i].File = info
	}
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	sw := &sidecarWriter{w: w}
	root, err := buildDir(full, sw.node)
	if err != nil {
		return cid.Undef, err
	}
	if err := w.Flush(); err != nil {
		return cid.Undef, err
	}
	// The tree's object first (the backend is the truth), then the index.
	err = s.b.Put(ctx, DirsKey(root.Cid()), bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil && !errors.Is(err, ErrExists) {
		return cid.Undef, fmt.Errorf("store: put directory: %w", err)
	}
	if err := s.index(ctx, root.Cid(), bytes.NewReader(buf.Bytes())); err != nil {
		return cid.Undef, fmt.Errorf("store: put directory: %w", err)
	}
	return root.Cid(), nil
}

// node loads and decodes an interior dag-pb node.
func (s *Store) node(ctx context.Context, c cid.Cid) (*merkledag.ProtoNode, *unixfs.FSNode, error) {
	if c.Type() != cid.DagProtobuf {
		return nil, nil, fmt.Errorf("%w: %s is not a dag-pb node", ErrInvalid, c)
	}
	b, err := s.Block(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	return decodeUnixFS(c, b.RawData(), ErrCorrupt)
}

// decodeUnixFS decodes a dag-pb UnixFS node; a node that does not decode is
// reported as kind (ErrCorrupt for stored bytes, ErrInvalid for input).
func decodeUnixFS(c cid.Cid, b []byte, kind error) (*merkledag.ProtoNode, *unixfs.FSNode, error) {
	nd, err := merkledag.DecodeProtobuf(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: node %s: %v", kind, c, err)
	}
	fs, err := unixfs.FSNodeFromBytes(nd.Data())
	if err != nil {
		return nil, nil, fmt.Errorf("%w: node %s: %v", kind, c, err)
	}
	return nd, fs, nil
}

// isDir reports whether c is a stored UnixFS directory.
func (s *Store) isDir(ctx context.Context, c cid.Cid) (bool, error) {
	if c.Type() != cid.DagProtobuf {
		return false, nil
	}
	_, fs, err := s.node(ctx, c)
	if err != nil {
		return false, err
	}
	return fs.IsDir(), nil
}

// ListDir returns every file and directory under the stored directory root,
// in path order, with each file's committed info.
func (s *Store) ListDir(ctx context.Context, root cid.Cid) ([]Entry, error) {
	var out []Entry
	err := s.walk(ctx, root, "", &out)
	return out, err
}

func (s *Store) walk(ctx context.Context, c cid.Cid, at string, out *[]Entry) error {
	nd, fs, err := s.node(ctx, c)
	if err != nil {
		return err
	}
	if !fs.IsDir() {
		return fmt.Errorf("%w: %s (%q) is not a directory", ErrInvalid, c, at)
	}
	for _, l := range nd.Links() {
		p := path.Join(at, l.Name)
		dir, err := s.isDir(ctx, l.Cid)
		if err != nil {
			return err
		}
		if dir {
			*out = append(*out, Entry{Path: p, Dir: true})
			if err := s.walk(ctx, l.Cid, p, out); err != nil {
				return err
			}
			continue
		}
		info, err := s.Stat(ctx, l.Cid)
		if err != nil {
			return fmt.Errorf("store: %s/%s: %w", c, p, err)
		}
		*out = append(*out, Entry{Path: p, File: info})
	}
	return nil
}

// Resolve returns the CID at a slash-separated path under a stored directory.
func (s *Store) Resolve(ctx context.Context, root cid.Cid, p string) (cid.Cid, error) {
	cur := root
	for _, name := range strings.Split(p, "/") {
		nd, fs, err := s.node(ctx, cur)
		if err != nil {
			return cid.Undef, err
		}
		if !fs.IsDir() {
			return cid.Undef, fmt.Errorf("%w: %q under %s", ErrNotFound, p, root)
		}
		l, _, err := nd.ResolveLink([]string{name})
		if err != nil {
			return cid.Undef, fmt.Errorf("%w: %q under %s", ErrNotFound, p, root)
		}
		cur = l.Cid
	}
	return cur, nil
}
