package hub

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/translog"
)

// LogOrigin prefixes the origin line of a hub's checkpoints; the hub's log
// key hint follows, so two hubs' logs are never confused.
const LogOrigin = "potluck.hub/log/"

// LogEntry is one record of the hub's transparency log. Releases (bases,
// deltas, merges) are logged when accepted, so an auditor can tell what the
// hub held and when, and that it never rewrote that history.
type LogEntry struct {
	Type      string       `json:"type"` // "release"
	Release   string       `json:"release"`
	Kind      potluck.Kind `json:"kind"`
	Base      string       `json:"base,omitempty"`
	Publisher string       `json:"publisher"`
	Key       string       `json:"key"`    // hint of the signing key
	Bundle    string       `json:"bundle"` // hex SHA-256 of the Sigstore bundle
	Inputs    []string     `json:"inputs,omitempty"`
	Time      time.Time    `json:"time"`
}

// ParseLogEntry decodes a log entry.
func ParseLogEntry(b []byte) (*LogEntry, error) {
	var e LogEntry
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("hub: log entry: %w", err)
	}
	return &e, nil
}

// Receipt is a release's proof of inclusion in the log.
type Receipt struct {
	Index      int64    `json:"index"`
	Entry      []byte   `json:"entry"`
	Proof      [][]byte `json:"proof"`
	Checkpoint []byte   `json:"checkpoint"`
}

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
func (h *Hub) logRelease(r *Release, inputs []string) (*Receipt, error) {
	sum := sha256.Sum256(r.Bundle)
	e := LogEntry{Type: "release", Release: r.CID, Kind: r.Kind, Base: r.Base, Publisher: r.Publisher,
		Key: r.KeyHint, Bundle: hex.EncodeToString(sum[:]), Inputs: inputs, Time: r.Created}
	b, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	rec, err := h.log.Append(b)
	if err != nil {
		return nil, fmt.Errorf("hub: log: %w", err)
	}
	out := &Receipt{Index: rec.Index, Entry: b, Checkpoint: rec.Checkpoint}
	for _, p := range rec.Proof {
		out.Proof = append(out.Proof, append([]byte(nil), p[:]...))
	}
	return out, nil
}

// record logs a new release and then stores its record with the receipt;
// a release already held is returned as it is, with no second entry. The
// entry comes first: a crash in between leaves a logged release that was
// never visible, never a visible one missing from the log.
func (h *Hub) record(r *Release, inputs []string) (*Release, error) {
	h.recordMu.Lock()
	defer h.recordMu.Unlock()
	if old, err := h.releases.get(r.CID); err == nil {
		return old, nil
	}
	rec, err := h.logRelease(r, inputs)
	if err != nil {
		return nil, err
	}
	r.Receipt = rec
	return h.releases.put(r)
}
