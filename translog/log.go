package translog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// ErrNotFound reports an index or size beyond the log.
var ErrNotFound = errors.New("translog: not found")

// maxEntry bounds one entry: entries are small JSON records.
const maxEntry = 16 << 20

// Log is a log on disk, in one folder:
//
//	entries     each entry as uvarint length + bytes, appended
//	index       the offset of each entry in entries, 8 bytes each
//	hashes      the tree's stored hashes, 32 bytes each at tlog.StoredHashIndex
//	checkpoint  the latest signed checkpoint
//
// The checkpoint says how many entries are committed: bytes appended past
// it (a crash mid-append) are cut off on Open, never served.
type Log struct {
	dir     string
	origin  string
	signer  note.Signer
	vkey    string
	mu      sync.RWMutex
	entries *os.File
	index   *os.File
	hashes  *os.File
	size    int64
	cp      []byte
}

// Open opens (creating if needed) the log in dir; origin names it in its
// checkpoints, and skey (an Ed25519 note signing key, see GenerateKey) signs
// them.
func Open(dir, origin, skey string) (*Log, error) {
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("translog: signing key: %w", err)
	}
	vkey, err := VerifierKey(skey)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("translog: %w", err)
	}
	l := &Log{dir: dir, origin: origin, signer: signer, vkey: vkey}
	for _, f := range []struct {
		name string
		dst  **os.File
	}{{"entries", &l.entries}, {"index", &l.index}, {"hashes", &l.hashes}} {
		if *f.dst, err = os.OpenFile(filepath.Join(dir, f.name), os.O_RDWR|os.O_CREATE, 0o644); err != nil {
			l.Close()
			return nil, fmt.Errorf("translog: %w", err)
		}
	}
	if err := l.recover(); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// recover reads the committed size from the checkpoint and cuts off any
// uncommitted tail.
func (l *Log) recover() error {
	cp, err := os.ReadFile(filepath.Join(l.dir, "checkpoint"))
	if errors.Is(err, os.ErrNotExist) {
		return l.commit(0)
	}
	if err != nil {
		return fmt.Errorf("translog: %w", err)
	}
	c, err := ParseCheckpoint(cp, l.origin, l.verifier())
	if err != nil {
		return fmt.Errorf("translog: the stored checkpoint: %w", err)
	}
	l.size, l.cp = int64(c.Size), cp
	end, err := l.entryEnd(l.size)
	if err != nil {
		return err
	}
	if h, err := treeHash(l.size, l); err != nil || h != c.Hash {
		return fmt.Errorf("translog: stored hashes do not match the checkpoint (%v)", err)
	}
	return errors.Join(l.entries.Truncate(end), l.index.Truncate(l.size*8), l.hashes.Truncate(tlog.StoredHashCount(l.size)*32))
}

// entryEnd is the offset in entries where entry n starts.
func (l *Log) entryEnd(n int64) (int64, error) {
	if n == 0 {
		return 0, nil
	}
	var b [8]byte
	if _, err := l.index.ReadAt(b[:], (n-1)*8); err != nil {
		return 0, fmt.Errorf("translog: index: %w", err)
	}
	start := int64(binary.BigEndian.Uint64(b[:]))
	_, length, err := l.readEntryAt(start)
	if err != nil {
		return 0, err
	}
	return start + int64(binary.PutUvarint(b[:], uint64(length))) + int64(length), nil
}

func (l *Log) verifier() note.Verifier {
	v, _ := note.NewVerifier(l.vkey) // made from the signing key on Open
	return v
}

// VerifierKey is the public key auditors check checkpoints with.
func (l *Log) VerifierKey() string { return l.vkey }

// Origin names the log.
func (l *Log) Origin() string { return l.origin }

// ReadHashes implements tlog.HashReader over the hashes file.
func (l *Log) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		if _, err := l.hashes.ReadAt(out[i][:], idx*32); err != nil {
			return nil, fmt.Errorf("translog: hash %d: %w", idx, err)
		}
	}
	return out, nil
}

func (l *Log) readEntryAt(off int64) ([]byte, int, error) {
	var head [binary.MaxVarintLen64]byte
	n, err := l.entries.ReadAt(head[:], off)
	if err != nil && err != io.EOF {
		return nil, 0, err
	}
	length, k := binary.Uvarint(head[:n])
	if k <= 0 || length > maxEntry {
		return nil, 0, fmt.Errorf("translog: corrupt entry at %d", off)
	}
	data := make([]byte, length)
	if _, err := l.entries.ReadAt(data, off+int64(k)); err != nil {
		return nil, 0, fmt.Errorf("translog: entry at %d: %w", off, err)
	}
	return data, int(length), nil
}

// Close closes the log's files.
func (l *Log) Close() error {
	var errs []error
	for _, f := range []*os.File{l.entries, l.index, l.hashes} {
		if f != nil {
			errs = append(errs, f.Close())
		}
	}
	return errors.Join(errs...)
}
