package store

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/boxo/ipld/unixfs"
	cid "github.com/ipfs/go-cid"
)

// spool holds a CAR's blocks in a staging file while its roots are
// rebuilt as stored files and directories.
type spool struct {
	s   *Store
	f   *os.File
	end int64
	at  map[cid.Cid][2]int64 // offset, length
}

func newSpool(s *Store) (*spool, error) {
	f, err := os.CreateTemp(filepath.Join(s.dir, "staging"), "*.car-spool")
	if err != nil {
		return nil, fmt.Errorf("store: car import: %w", err)
	}
	return &spool{s: s, f: f, at: map[cid.Cid][2]int64{}}, nil
}

func (sp *spool) close() {
	sp.f.Close()
	os.Remove(sp.f.Name())
}

func (sp *spool) put(c cid.Cid, data []byte) error {
	if _, ok := sp.at[c]; ok {
		return nil
	}
	if _, err := sp.f.WriteAt(data, sp.end); err != nil {
		return fmt.Errorf("store: car import: %w", err)
	}
	sp.at[c] = [2]int64{sp.end, int64(len(data))}
	sp.end += int64(len(data))
	return nil
}

func (sp *spool) get(c cid.Cid) ([]byte, error) {
	at, ok := sp.at[c]
	if !ok {
		return nil, fmt.Errorf("%w: block %s is not in the CAR", ErrInvalid, c)
	}
	b := make([]byte, at[1])
	_, err := sp.f.ReadAt(b, at[0])
	return b, err
}

// store commits the file or directory tree rooted at c.
func (sp *spool) store(ctx context.Context, c cid.Cid) error {
	if c.Type() == cid.Raw {
		_, err := sp.storeFile(ctx, c)
		return err
	}
	b, err := sp.get(c)
	if err != nil {
		return err
	}
	_, fs, err := decodeUnixFS(c, b, ErrInvalid)
	if err != nil {
		return err
	}
	switch fs.Type() {
	case unixfs.TFile, unixfs.TRaw:
		_, err := sp.storeFile(ctx, c)
		return err
	case unixfs.TDirectory:
		var entries []Entry
		if err := sp.collect(ctx, c, "", &entries); err != nil {
			return err
		}
		root, err := sp.s.PutDir(ctx, entries)
		if err == nil && !root.Equals(c) {
			err = fmt.Errorf("%w: directory rebuilt as %s, not %s", ErrInvalid, root, c)
		}
		return err
	default:
		return fmt.Errorf("%w: %s is a UnixFS %s; potluck stores files and basic directories", ErrInvalid, c, fs.Type())
	}
}

// collect lists directory c's files (committing each) and subdirectories.
func (sp *spool) collect(ctx context.Context, c cid.Cid, at string, out *[]Entry) error {
	b, err := sp.get(c)
	if err != nil {
		return err
	}
	nd, err := merkledag.DecodeProtobuf(b)
	if err != nil {
		return fmt.Errorf("%w: node %s: %v", ErrInvalid, c, err)
	}
	for _, l := range nd.Links() {
		p := l.Name
		if at != "" {
			p = at + "/" + l.Name
		}
		dir, err := sp.isDir(l.Cid)
		if err != nil {
			return err
		}
		if dir {
			*out = append(*out, Entry{Path: p, Dir: true})
			if err := sp.collect(ctx, l.Cid, p, out); err != nil {
				return err
			}
			continue
		}
		info, err := sp.storeFile(ctx, l.Cid)
		if err != nil {
			return fmt.Errorf("%q: %w", p, err)
		}
		*out = append(*out, Entry{Path: p, File: info})
	}
	return nil
}

func (sp *spool) isDir(c cid.Cid) (bool, error) {
	if c.Type() != cid.DagProtobuf {
		return false, nil
	}
	b, err := sp.get(c)
	if err != nil {
		return false, err
	}
	_, fs, err := decodeUnixFS(c, b, ErrInvalid)
	if err != nil {
		return false, err
	}
	return fs.IsDir(), nil
}

// storeFile re-imports the file DAG under c from its leaves, in order.
func (sp *spool) storeFile(ctx context.Context, c cid.Cid) (FileInfo, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(sp.leaves(c, pw)) }()
	st, err := sp.s.Add(pr)
	pr.CloseWithError(io.ErrClosedPipe)
	if err != nil {
		return FileInfo{}, err
	}
	if !st.Info.CID.Equals(c) {
		st.Discard()
		return FileInfo{}, fmt.Errorf("%w: file re-imported as %s, not %s: its DAG is not laid out as `ipfs add --cid-version=1` lays it out", ErrInvalid, st.Info.CID, c)
	}
	return st.Info, st.Commit(ctx)
}

// leaves writes the bytes of the file DAG under c to w.
func (sp *spool) leaves(c cid.Cid, w io.Writer) error {
	b, err := sp.get(c)
	if err != nil {
		return err
	}
	if c.Type() == cid.Raw {
		_, err := w.Write(b)
		return err
	}
	nd, fs, err := decodeUnixFS(c, b, ErrInvalid)
	if err != nil {
		return err
	}
	if len(fs.Data()) > 0 {
		if _, err := w.Write(fs.Data()); err != nil {
			return err
		}
	}
	for _, l := range nd.Links() {
		if err := sp.leaves(l.Cid, w); err != nil {
			return err
		}
	}
	return nil
}
