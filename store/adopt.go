package store

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	cid "github.com/ipfs/go-cid"
)

// AddFile stages the complete file at path as it is, without copying it:
// the file itself, hard-linked into staging, becomes the staged data, so
// its name at path may go once the file is committed or discarded, and
// nobody may write to it again. Only the sidecar is written.
//
// h, if not nil, must have hashed exactly the file's bytes in order (the
// caller wrote them and hashed them as they came): the DAG is then laid out
// from h's leaves and no byte of the file is read. Without h, or if h
// holds another number of bytes than the file (a receiver restarted and
// lost it), the file is hashed in place: one read, no write. Either way the
// file is synced before AddFile returns. Where staging lies on another file
// system than path, the file is copied as Add copies a reader.
func (s *Store) AddFile(path string, h *Hasher) (_ *Staged, err error) {
	data, err := s.linkStaging(path)
	if errors.Is(err, errCrossDevice) {
		return s.addCopy(path)
	}
	if err != nil {
		return nil, fmt.Errorf("store: add %s: %w", path, err)
	}
	st := &Staged{s: s, data: data, sidecar: data + ".nodes"}
	defer func() {
		if err != nil {
			st.Discard()
			err = fmt.Errorf("store: add %s: %w", path, err)
		}
	}()
	f, err := os.Open(data)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	side, err := os.Create(st.sidecar)
	if err != nil {
		return nil, err
	}
	sw := &sidecarWriter{w: bufio.NewWriter(side)}
	if h != nil && h.Size() == fi.Size() {
		st.Info, err = layoutHashed(h, sw)
	} else {
		st.Info, err = importFile(f, sw, nil)
	}
	if err == nil {
		err = errors.Join(sw.w.Flush(), side.Sync())
	}
	if err = errors.Join(err, side.Close()); err != nil {
		return nil, err
	}
	return st, nil
}

// errCrossDevice: a file cannot be linked into staging.
var errCrossDevice = errors.New("store: staging is on another file system")

// linkStaging hard-links the file at path into staging under a new name and
// returns that name.
func (s *Store) linkStaging(path string) (string, error) {
	for {
		b := make([]byte, 12)
		rand.Read(b)
		name := filepath.Join(s.dir, "staging", hex.EncodeToString(b)+".data")
		err := os.Link(path, name)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if isCrossDevice(err) {
			return "", errCrossDevice
		}
		return name, err
	}
}

// addCopy stages a copy of the file at path.
func (s *Store) addCopy(path string) (*Staged, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("store: add %s: %w", path, err)
	}
	defer f.Close()
	return s.Add(f)
}

// layoutHashed lays out the DAG of the bytes h hashed, writing its blocks
// to sink.
func layoutHashed(h *Hasher, sink blockSink) (FileInfo, error) {
	leaves, sum := h.sums()
	r := &replay{leaves: leaves, size: h.Size(), pad: make([]byte, ChunkSize+len(replay{}.slots))}
	root, tsize, err := buildDAG(r, r, sink)
	if err != nil {
		return FileInfo{}, fmt.Errorf("store: import: %w", err)
	}
	return FileInfo{CID: root, Size: h.Size(), TSize: tsize, SHA256: sum}, nil
}

// replay hands boxo's layout a hashed file's chunks as placeholders of the
// right lengths, whose leaf CIDs it knows (leafFor), so laying out a
// gigabyte reads and hashes none of it. The placeholders are windows of one
// padding buffer at distinct addresses, one per chunk the layout may hold
// at once, and the layout must ask for the leaves in the order it was
// handed them: anything else is an error, never a CID of the placeholder.
type replay struct {
	leaves [][32]byte
	size   int64
	next   int    // leaves handed out
	summed int    // leaves whose CID the layout took
	pad    []byte // ChunkSize+len(slots) bytes
	slots  [3][]byte
}

// Reader is part of chunker.Splitter; the layout never calls it.
func (r *replay) Reader() io.Reader { return strings.NewReader("") }

// NextBytes hands out the next leaf's placeholder.
func (r *replay) NextBytes() ([]byte, error) {
	if r.next == len(r.leaves) {
		return nil, io.EOF
	}
	if r.next-r.summed >= len(r.slots) {
		return nil, errReplayOrder
	}
	n := ChunkSize
	if r.next == len(r.leaves)-1 {
		n = int(r.size - int64(r.next)*ChunkSize)
	}
	k := r.next % len(r.slots)
	r.slots[k] = r.pad[k : k+n]
	r.next++
	return r.slots[k], nil
}

func (r *replay) leafFor(data []byte) (cid.Cid, error) {
	if len(data) == 0 {
		return cid.Undef, errUnknownLeaf // an empty file's one leaf
	}
	if r.summed == r.next {
		return cid.Undef, errReplayOrder
	}
	want := r.slots[r.summed%len(r.slots)]
	if len(want) != len(data) || &want[0] != &data[0] {
		return cid.Undef, errReplayOrder
	}
	r.summed++
	return rawLeafCID(r.leaves[r.summed-1]), nil
}

var errReplayOrder = errors.New("store: the DAG layout took leaves out of order")
