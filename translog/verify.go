package translog

import (
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	fmtlog "github.com/transparency-dev/formats/log"
)

// ErrVerify reports a checkpoint, proof or log that does not check out: a
// bad signature, an entry not in the tree, a log that shrank or forked.
var ErrVerify = errors.New("translog: verification failed")

// Checkpoint is a verified checkpoint.
type Checkpoint struct {
	Origin string
	Size   int64
	Hash   tlog.Hash
}

// ParseCheckpoint checks a signed checkpoint against the log's verifier key
// and origin.
func ParseCheckpoint(b []byte, origin string, v note.Verifier) (*Checkpoint, error) {
	cp, _, _, err := fmtlog.ParseCheckpoint(b, origin, v)
	if err != nil {
		return nil, fmt.Errorf("%w: checkpoint: %v", ErrVerify, err)
	}
	if len(cp.Hash) != len(tlog.Hash{}) || cp.Size > 1<<62 {
		return nil, fmt.Errorf("%w: checkpoint: bad size or hash", ErrVerify)
	}
	c := &Checkpoint{Origin: cp.Origin, Size: int64(cp.Size)}
	copy(c.Hash[:], cp.Hash)
	return c, nil
}

// NewVerifier reads a verifier key (the hub's log key, published).
func NewVerifier(vkey string) (note.Verifier, error) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("translog: verifier key: %w", err)
	}
	return v, nil
}

// VerifyInclusion checks that entry is at index in the tree cp commits to.
func VerifyInclusion(entry []byte, index int64, proof []tlog.Hash, cp *Checkpoint) error {
	if err := tlog.CheckRecord(proof, cp.Size, cp.Hash, index, tlog.RecordHash(entry)); err != nil {
		return fmt.Errorf("%w: entry %d is not in the tree of size %d: %v", ErrVerify, index, cp.Size, err)
	}
	return nil
}

// VerifyConsistency checks that newer extends older: the log only grew.
func VerifyConsistency(older, newer *Checkpoint, proof []tlog.Hash) error {
	switch {
	case newer.Size < older.Size:
		return fmt.Errorf("%w: the log shrank from %d to %d entries", ErrVerify, older.Size, newer.Size)
	case newer.Size == older.Size:
		if newer.Hash != older.Hash {
			return fmt.Errorf("%w: two different trees of size %d: the log forked or was rewritten", ErrVerify, older.Size)
		}
		return nil
	case older.Size == 0:
		return nil
	}
	if err := tlog.CheckTree(proof, newer.Size, newer.Hash, older.Size, older.Hash); err != nil {
		return fmt.Errorf("%w: the tree of size %d does not extend the remembered one of size %d: the log was rewritten (%v)", ErrVerify, newer.Size, older.Size, err)
	}
	return nil
}
