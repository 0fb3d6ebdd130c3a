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
// deltas, merges) are logged when accepted, and member keys when they are
// added, changed, revoked or removed, so an auditor can tell what the hub
// held and when, which keys were valid when each release was accepted, and
// that the hub never rewrote that history.
type LogEntry struct {
	Type string    `json:"type"` // "release", "key" or "verdict"
	Time time.Time `json:"time"`

	// A release.
	Release   string       `json:"release,omitempty"`
	Kind      potluck.Kind `json:"kind,omitempty"`
	Base      string       `json:"base,omitempty"`
	Publisher string       `json:"publisher,omitempty"`
	Key       string       `json:"key,omitempty"`    // hint of the signing key (for "key": the key's hint)
	Bundle    string       `json:"bundle,omitempty"` // hex SHA-256 of the Sigstore bundle
	Inputs    []string     `json:"inputs,omitempty"`

	// A key change: action add, change, revoke or remove.
	Action    string     `json:"action,omitempty"`
	Org       string     `json:"org,omitempty"`
	Role      string     `json:"role,omitempty"`
	PublicKey string     `json:"public_key,omitempty"` // PEM
	NotBefore *time.Time `json:"not_before,omitempty"`
	NotAfter  *time.Time `json:"not_after,omitempty"`
	Revoked   *time.Time `json:"revoked,omitempty"`

	// An upload's admission: on a release, "accepted" and the checks it
	// passed; a "verdict" entry records a refused upload by a member
	// (kind, base, publisher, key, bundle as for a release), its checks
	// and the reason.
	Verdict string  `json:"verdict,omitempty"`
	Checks  []Check `json:"checks,omitempty"`
	Reason  string  `json:"reason,omitempty"`
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
	if r.Checks != nil {
		e.Verdict, e.Checks = "accepted", r.Checks
	}
	b, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	rec, err := h.log.Append(b)
	if err != nil {
		return nil, fmt.Errorf("hub: log: %w", err)
	}
	return receiptOf(rec, b), nil
}

// appendEntry logs an entry that needs no receipt.
func (h *Hub) appendEntry(e LogEntry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if _, err := h.log.Append(b); err != nil {
		return fmt.Errorf("hub: log: %w", err)
	}
	return nil
}

// logVerdict logs a member's refused upload. Its files were never stored:
// the entry is all that remains of it.
func (h *Hub) logVerdict(a *admission, v Verdict) error {
	sum := sha256.Sum256(a.up.Bundle)
	return h.appendEntry(LogEntry{Type: "verdict", Time: h.opts.Now().UTC(), Verdict: "rejected",
		Kind: a.up.Kind, Base: a.up.Base, Publisher: a.org, Key: a.signed.Key.Hint(),
		Bundle: hex.EncodeToString(sum[:]), Checks: v.Checks, Reason: v.Reason})
}

func receiptOf(rec *translog.Receipt, entry []byte) *Receipt {
	out := &Receipt{Index: rec.Index, Entry: entry, Checkpoint: rec.Checkpoint}
	for _, p := range rec.Proof {
		out.Proof = append(out.Proof, append([]byte(nil), p[:]...))
	}
	return out
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
