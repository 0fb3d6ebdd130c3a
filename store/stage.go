package store

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	cid "github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
)

// Staged is a file imported into staging: its bytes and the sidecar of its
// interior nodes are on disk, but nothing is visible until Commit.
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
	bw := bufio.NewWriterSize(data, 1<<20)
	info, err := importFile(io.TeeReader(r, bw), sw)
	if err == nil {
		err = errors.Join(bw.Flush(), sw.w.Flush(), data.Sync(), side.Sync())
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

// Commit makes the staged file visible: nodes and leaf index into the
// database, the bytes renamed into place, then the file's record. Committing
// a file the store already holds just discards the staging.
func (st *Staged) Commit(ctx context.Context) error {
	s, c := st.s, st.Info.CID
	defer st.Discard()
	if ok, err := s.Has(ctx, c); err != nil || ok {
		return err
	}
	if err := s.applySidecar(ctx, st.sidecar, c); err != nil {
		return fmt.Errorf("store: commit %s: %w", c, err)
	}
	if err := os.Chmod(st.data, 0o444); err != nil {
		return fmt.Errorf("store: commit %s: %w", c, err)
	}
	if err := os.Rename(st.data, s.filePath(c)); err != nil {
		return fmt.Errorf("store: commit %s: %w", c, err)
	}
	if err := syncDir(filepath.Join(s.dir, "files")); err != nil {
		return fmt.Errorf("store: commit %s: %w", c, err)
	}
	rec, _ := json.Marshal(fileRecord{Size: st.Info.Size, TSize: st.Info.TSize, SHA256: st.Info.SHA256})
	if err := s.db.Put(ctx, fileKey(c), rec); err != nil {
		return fmt.Errorf("store: commit %s: %w", c, err)
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

// The sidecar is a sequence of records: 'N' cid node-bytes for an interior
// node, 'L' cid size for a raw leaf (leaves come in file order, so their
// offsets are the running sum of sizes). Lengths are uvarints.
type sidecarWriter struct{ w *bufio.Writer }

func (sw *sidecarWriter) leaf(c cid.Cid, size int) error {
	sw.w.WriteByte('L')
	writeBytes(sw.w, c.Bytes())
	return writeUvarint(sw.w, uint64(size))
}

func (sw *sidecarWriter) node(n ipld.Node) error {
	sw.w.WriteByte('N')
	writeBytes(sw.w, n.Cid().Bytes())
	return writeBytes(sw.w, n.RawData())
}

func writeUvarint(w *bufio.Writer, v uint64) error {
	_, err := w.Write(binary.AppendUvarint(nil, v))
	return err
}

func writeBytes(w *bufio.Writer, b []byte) error {
	writeUvarint(w, uint64(len(b)))
	_, err := w.Write(b)
	return err
}

func (s *Store) applySidecar(ctx context.Context, path string, file cid.Cid) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	batch, err := s.db.Batch(ctx)
	if err != nil {
		return err
	}
	var offset uint64
	for {
		kind, err := r.ReadByte()
		if err == io.EOF {
			break
		}
		c, err := readCID(r)
		if err != nil {
			return err
		}
		switch kind {
		case 'L':
			size, err := binary.ReadUvarint(r)
			if err != nil {
				return err
			}
			if err := batch.Put(ctx, leafKey(c), encodeLeaf(file, offset, size)); err != nil {
				return err
			}
			offset += size
		case 'N':
			data, err := readBytes(r)
			if err != nil {
				return err
			}
			if err := batch.Put(ctx, nodeKey(c), data); err != nil {
				return err
			}
		default:
			return fmt.Errorf("sidecar %s: bad record kind %q", path, kind)
		}
	}
	return batch.Commit(ctx)
}

func readBytes(r *bufio.Reader) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	if n > 1<<24 {
		return nil, fmt.Errorf("sidecar record of %d bytes", n)
	}
	b := make([]byte, n)
	_, err = io.ReadFull(r, b)
	return b, err
}

func readCID(r *bufio.Reader) (cid.Cid, error) {
	b, err := readBytes(r)
	if err != nil {
		return cid.Undef, err
	}
	return cid.Cast(b)
}

// A leaf index entry: offset, size, then the CID of the file holding it.
func encodeLeaf(file cid.Cid, offset, size uint64) []byte {
	b := binary.AppendUvarint(nil, offset)
	b = binary.AppendUvarint(b, size)
	return append(b, file.Bytes()...)
}

func decodeLeaf(b []byte) (file cid.Cid, offset, size uint64, err error) {
	offset, n := binary.Uvarint(b)
	if n <= 0 {
		return cid.Undef, 0, 0, errors.New("bad leaf entry")
	}
	b = b[n:]
	size, n = binary.Uvarint(b)
	if n <= 0 {
		return cid.Undef, 0, 0, errors.New("bad leaf entry")
	}
	file, err = cid.Cast(b[n:])
	return file, offset, size, err
}

// Open opens the staged bytes for reading, so the caller can inspect a file
// (parse its header, scan its values) before deciding to commit it.
func (st *Staged) Open() (*os.File, error) { return os.Open(st.data) }
