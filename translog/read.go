package translog

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// Checkpoint returns the latest signed checkpoint.
func (l *Log) Checkpoint() []byte {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.cp
}

// Size returns the number of committed entries.
func (l *Log) Size() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.size
}

// Entry returns entry i.
func (l *Log) Entry(i int64) ([]byte, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if i < 0 || i >= l.size {
		return nil, fmt.Errorf("%w: entry %d of a log of %d", ErrNotFound, i, l.size)
	}
	var b [8]byte
	if _, err := l.index.ReadAt(b[:], i*8); err != nil {
		return nil, err
	}
	data, _, err := l.readEntryAt(int64(binary.BigEndian.Uint64(b[:])))
	return data, err
}

// InclusionProof proves entry i is in the tree of the given size.
func (l *Log) InclusionProof(i, size int64) ([]tlog.Hash, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if i < 0 || size > l.size || i >= size {
		return nil, fmt.Errorf("%w: entry %d in a tree of %d (log size %d)", ErrNotFound, i, size, l.size)
	}
	return tlog.ProveRecord(size, i, l)
}

// ConsistencyProof proves the tree of size m is a prefix of the tree of
// size n.
func (l *Log) ConsistencyProof(m, n int64) ([]tlog.Hash, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if m < 1 || m > n || n > l.size {
		return nil, fmt.Errorf("%w: consistency of %d with %d (log size %d)", ErrNotFound, m, n, l.size)
	}
	return tlog.ProveTree(n, m, l)
}

// Prove returns entry i's inclusion proof against the latest checkpoint,
// read together so that an append in between cannot part them.
func (l *Log) Prove(i int64) (*Inclusion, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if i < 0 || i >= l.size {
		return nil, fmt.Errorf("%w: entry %d of a log of %d", ErrNotFound, i, l.size)
	}
	proof, err := tlog.ProveRecord(l.size, i, l)
	if err != nil {
		return nil, err
	}
	return &Inclusion{Index: i, Proof: proof, Checkpoint: l.cp}, nil
}
