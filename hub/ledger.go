package hub

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/translog"
)

// LogOrigin prefixes the origin line of a hub's checkpoints; the hub's log
// key hint follows, so two hubs' logs are never confused.
const LogOrigin = "potluck.hub/log/"

// openLog opens DATA/log, making its Ed25519 checkpoint key on first start.
func openLog(dir string) (*translog.Log, error) {
	keyPath := filepath.Join(dir, "log.key")
	skey, err := os.ReadFile(keyPath)
	if errors.Is(err, os.ErrNotExist) {
		var vkey string
		s, v, gerr := translog.GenerateKey("potluck-hub")
		if gerr != nil {
			return nil, gerr
		}
		skey, vkey = []byte(s), v
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(keyPath, skey, 0o600); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "log.pub"), []byte(vkey+"\n"), 0o644); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	vkey, err := translog.VerifierKey(string(skey))
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(vkey))
	return translog.Open(filepath.Join(dir, "log"), LogOrigin+hex.EncodeToString(sum[:8]), string(skey))
}

// logRelease appends a release's entry and returns its receipt.
func (h *Hub) logRelease(r *potluck.Release, inputs []string) (*potluck.Receipt, error) {
	e := &potluck.ReleaseEntry{EntryHeader: potluck.EntryHeader{Time: r.Created}, Release: r.CID, Kind: r.Kind,
		Base: r.Base, Publisher: r.Publisher, Key: r.KeyHint, Bundle: bundleDigest(r.Bundle), Inputs: inputs}
	if r.Checks != nil {
		e.Verdict, e.Checks = "accepted", r.Checks
	}
	b, rec, err := h.appendEntry(e)
	if err != nil {
		return nil, err
	}
	return receiptOf(rec, b), nil
}

// appendEntry encodes and logs an entry, returning its bytes and the
// log's proof of their inclusion.
func (h *Hub) appendEntry(e potluck.Entry) ([]byte, *translog.Inclusion, error) {
	b, err := potluck.EncodeEntry(e)
	if err != nil {
		return nil, nil, err
	}
	rec, err := h.log.Append(b)
	if err != nil {
		return nil, nil, fmt.Errorf("hub: log: %w", err)
	}
	return b, rec, nil
}

// bundleDigest is how an entry names a Sigstore bundle: its hex SHA-256.
func bundleDigest(bundle []byte) string {
	sum := sha256.Sum256(bundle)
	return hex.EncodeToString(sum[:])
}

// logVerdict logs a member's refused upload. Its files were never stored:
// the entry is all that remains of it.
func (h *Hub) logVerdict(a *admission, v potluck.Verdict) error {
	_, _, err := h.appendEntry(&potluck.VerdictEntry{EntryHeader: potluck.EntryHeader{Time: h.opts.Now().UTC()},
		Verdict: "rejected", Kind: a.up.Kind, Base: a.up.Base, Publisher: a.org, Key: a.signed.Key.Hint(),
		Bundle: bundleDigest(a.up.Bundle), Checks: v.Checks, Reason: v.Reason})
	return err
}

func receiptOf(rec *translog.Inclusion, entry []byte) *potluck.Receipt {
	out := &potluck.Receipt{Index: rec.Index, Entry: entry, Checkpoint: rec.Checkpoint}
	for _, p := range rec.Proof {
		out.Proof = append(out.Proof, append([]byte(nil), p[:]...))
	}
	return out
}
