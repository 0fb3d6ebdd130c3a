package translog

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	fmtlog "github.com/transparency-dev/formats/log"
)

// Inclusion proves an entry is in the log: its index, and an inclusion
// proof against the signed checkpoint made right after it was appended.
type Inclusion struct {
	Index      int64
	Proof      []tlog.Hash
	Checkpoint []byte
}

// Append adds an entry, syncs it, signs a new checkpoint and returns the
// entry's inclusion proof. The entry is committed once the checkpoint is written.
func (l *Log) Append(entry []byte) (*Inclusion, error) {
	if len(entry) > maxEntry {
		return nil, fmt.Errorf("translog: entry of %d bytes", len(entry))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.size
	hashes, err := tlog.StoredHashes(n, entry, l)
	if err != nil {
		return nil, err
	}
	start, err := l.entryEnd(n)
	if err != nil {
		return nil, err
	}
	rec := binary.AppendUvarint(nil, uint64(len(entry)))
	rec = append(rec, entry...)
	var off [8]byte
	binary.BigEndian.PutUint64(off[:], uint64(start))
	buf := make([]byte, 0, 32*len(hashes))
	for _, h := range hashes {
		buf = append(buf, h[:]...)
	}
	if _, err := l.entries.WriteAt(rec, start); err != nil {
		return nil, err
	}
	if _, err := l.index.WriteAt(off[:], n*8); err != nil {
		return nil, err
	}
	if _, err := l.hashes.WriteAt(buf, tlog.StoredHashIndex(0, n)*32); err != nil {
		return nil, err
	}
	if err := errors.Join(l.entries.Sync(), l.index.Sync(), l.hashes.Sync()); err != nil {
		return nil, err
	}
	if err := l.commit(n + 1); err != nil {
		return nil, err
	}
	proof, err := tlog.ProveRecord(n+1, n, l)
	if err != nil {
		return nil, err
	}
	return &Inclusion{Index: n, Proof: proof, Checkpoint: l.cp}, nil
}

// commit signs and writes the checkpoint for size entries, atomically.
func (l *Log) commit(size int64) error {
	h, err := treeHash(size, l)
	if err != nil {
		return err
	}
	body := fmtlog.Checkpoint{Origin: l.origin, Size: uint64(size), Hash: h[:]}.Marshal()
	signed, err := note.Sign(&note.Note{Text: string(body)}, l.signer)
	if err != nil {
		return err
	}
	tmp := filepath.Join(l.dir, ".checkpoint.tmp")
	if err := os.WriteFile(tmp, signed, 0o644); err != nil {
		return err
	}
	f, err := os.Open(tmp)
	if err == nil {
		err = errors.Join(f.Sync(), f.Close())
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(l.dir, "checkpoint"))
	}
	if err != nil {
		return fmt.Errorf("translog: checkpoint: %w", err)
	}
	l.size, l.cp = size, signed
	return nil
}

// treeHash is RFC 6962's tree hash; for the empty tree that is SHA-256 of
// nothing (x/mod's tlog returns zero there).
func treeHash(size int64, r tlog.HashReader) (tlog.Hash, error) {
	if size == 0 {
		return sha256.Sum256(nil), nil
	}
	return tlog.TreeHash(size, r)
}
