package node

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/translog"
)

// ReceiptFile is where a pulled release keeps its log receipt: a hidden
// folder, outside the release's CID (`ipfs add -r` skips it) and outside
// its signature.
const ReceiptFile = ".potluck/receipt.json"

// CheckReceipt verifies that the receipt's entry names release rootCID with
// this bundle, and that it is in the tree of the receipt's checkpoint, which
// the log key signed. It returns the checkpoint.
func CheckReceipt(r *potluck.Receipt, rootCID string, bundle []byte, logKey string) (*translog.Checkpoint, error) {
	return checkIncluded(r, logKey, func(pe potluck.Entry) error {
		e, ok := pe.(*potluck.ReleaseEntry)
		if !ok {
			return fmt.Errorf("%w: log entry %d is a %s entry, not a release's", ErrVerify, r.Index, pe.EntryType())
		}
		sum := sha256.Sum256(bundle)
		if e.Release != rootCID || e.Bundle != hex.EncodeToString(sum[:]) {
			return fmt.Errorf("%w: the log entry is for release %s with bundle %s, not %s with bundle %x", ErrVerify, e.Release, e.Bundle, rootCID, sum)
		}
		return nil
	})
}

// CheckAttestationReceipt verifies that the receipt's entry is an
// attestation entry holding exactly this bundle, in the tree of the
// receipt's checkpoint, which the log key signed. It returns the entry.
func CheckAttestationReceipt(r *potluck.Receipt, bundle []byte, logKey string) (*potluck.AttestationEntry, error) {
	var e *potluck.AttestationEntry
	_, err := checkIncluded(r, logKey, func(pe potluck.Entry) error {
		var ok bool
		if e, ok = pe.(*potluck.AttestationEntry); !ok {
			return fmt.Errorf("%w: log entry %d is a %s entry, not an attestation's", ErrVerify, r.Index, pe.EntryType())
		}
		if !bytes.Equal(e.Bundle, bundle) {
			return fmt.Errorf("%w: log entry %d holds another bundle than the attestation's", ErrVerify, r.Index)
		}
		return nil
	})
	return e, err
}

// checkIncluded checks the receipt's checkpoint against the log key, its
// entry with check, and the entry's inclusion proof; it returns the
// checkpoint.
func checkIncluded(r *potluck.Receipt, logKey string, check func(potluck.Entry) error) (*translog.Checkpoint, error) {
	v, err := translog.NewVerifier(logKey)
	if err != nil {
		return nil, err
	}
	cp, err := translog.ParseCheckpoint(r.Checkpoint, r.LogOrigin, v)
	if err != nil {
		return nil, err
	}
	pe, err := potluck.ParseEntry(r.Entry)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrVerify, err)
	}
	if err := check(pe); err != nil {
		return nil, err
	}
	proof := make([]tlog.Hash, len(r.Proof))
	for i, p := range r.Proof {
		if len(p) != len(tlog.Hash{}) {
			return nil, fmt.Errorf("%w: proof hash %d has %d bytes", ErrVerify, i, len(p))
		}
		copy(proof[i][:], p)
	}
	if err := translog.VerifyInclusion(r.Entry, r.Index, proof, cp); err != nil {
		return nil, err
	}
	return cp, nil
}

// writeReceipt stores a receipt in a release directory.
func writeReceipt(dir string, r *potluck.Receipt) error {
	return writeKept(dir, ReceiptFile, r)
}

// ReadReceipt reads the receipt a pulled release directory keeps.
func ReadReceipt(dir string) (*potluck.Receipt, error) {
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(ReceiptFile)))
	if err != nil {
		return nil, err
	}
	var r potluck.Receipt
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", ReceiptFile, err)
	}
	return &r, nil
}
