package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	cid "github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
)

// A sidecar is what a file needs beside its bytes to serve every block of
// its DAG: the interior nodes (raw leaves dropped) and each leaf's size, in
// file order, so a leaf's offset is the running sum. The object
// "nodes/<cid>" is the file's record ('F', JSON) followed by those records:
//
//	'F' len json       the file's size, DAG size and SHA-256
//	'L' len cid size   a raw leaf
//	'N' len cid len b  an interior dag-pb node
//
// (lengths are uvarints). A directory tree's object "dirs/<cid>" holds 'N'
// records only. Writing "nodes/<cid>" is a file's commit: before it the
// bytes are invisible.
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

func (sw *sidecarWriter) record(rec fileRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	sw.w.WriteByte('F')
	return writeBytes(sw.w, b)
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

// recordHeader is the 'F' record that opens a file's sidecar object.
func recordHeader(rec fileRecord) []byte {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	(&sidecarWriter{w: w}).record(rec)
	w.Flush()
	return buf.Bytes()
}

// sidecarRecord is one decoded record.
type sidecarRecord struct {
	kind byte
	cid  cid.Cid
	size uint64     // 'L'
	data []byte     // 'N'
	rec  fileRecord // 'F'
}

// readSidecar calls fn for each record of r in order.
func readSidecar(r *bufio.Reader, fn func(sidecarRecord) error) error {
	for {
		kind, err := r.ReadByte()
		if err == io.EOF {
			return nil
		}
		rec := sidecarRecord{kind: kind}
		switch kind {
		case 'F':
			var b []byte
			if b, err = readBytes(r); err == nil {
				err = json.Unmarshal(b, &rec.rec)
			}
		case 'L':
			if rec.cid, err = readCID(r); err == nil {
				rec.size, err = binary.ReadUvarint(r)
			}
		case 'N':
			if rec.cid, err = readCID(r); err == nil {
				rec.data, err = readBytes(r)
			}
		default:
			err = fmt.Errorf("bad record kind %q", kind)
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if err == nil {
			err = fn(rec)
		}
		if err != nil {
			return err
		}
	}
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

// index writes a sidecar's records into the index in one batch, so a
// file's record appears together with everything needed to serve it.
func (s *Store) index(ctx context.Context, file cid.Cid, r io.Reader) error {
	batch, err := s.db.Batch(ctx)
	if err != nil {
		return err
	}
	var offset uint64
	err = readSidecar(bufio.NewReaderSize(r, 1<<16), func(rec sidecarRecord) error {
		switch rec.kind {
		case 'F':
			b, _ := json.Marshal(rec.rec)
			return batch.Put(ctx, fileKey(file), b)
		case 'L':
			defer func() { offset += rec.size }()
			return batch.Put(ctx, leafKey(rec.cid), encodeLeaf(file, offset, rec.size))
		default:
			return batch.Put(ctx, nodeKey(rec.cid), rec.data)
		}
	})
	if err != nil {
		return fmt.Errorf("%w: sidecar of %s: %v", ErrCorrupt, file, err)
	}
	return batch.Commit(ctx)
}

// load indexes what the backend holds for c, a file or directory tree the
// index lacks: ErrNotFound if the backend has neither.
func (s *Store) load(ctx context.Context, c cid.Cid) error {
	for _, key := range []string{NodesKey(c), DirsKey(c)} {
		obj, err := s.b.Open(ctx, key)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		defer obj.Close()
		return s.index(ctx, c, io.NewSectionReader(obj, 0, obj.Size()))
	}
	return ErrNotFound
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
