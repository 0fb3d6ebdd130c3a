package potluck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// The hub's transparency log records what the hub accepted and on whose
// authority, one entry per event. This file owns the entry format: the hub
// encodes entries with EncodeEntry, and every reader (the node, an
// auditor, the web view) decodes them with ParseEntry into the same types.
// A new kind of entry is a struct embedding EntryHeader, an EntryType
// constant, and a line in entryTypes.

// EntryType names a kind of log entry; it is the entry's "type" field.
type EntryType string

// The kinds of log entry.
const (
	// EntryRelease records an accepted release (base, delta or merge).
	EntryRelease EntryType = "release"
	// EntryKey records a member key added, changed, revoked or removed.
	EntryKey EntryType = "key"
	// EntryVerdict records a member's upload that the hub refused.
	EntryVerdict EntryType = "verdict"
	// EntryAttestation records an org's signed claim of how a release
	// scores (see Evaluation).
	EntryAttestation EntryType = "attestation"
	// EntryYank records a release withdrawn: who, when, why.
	EntryYank EntryType = "yank"
)

// entryTypes makes an empty entry of each known type, for ParseEntry.
var entryTypes = map[EntryType]func() Entry{
	EntryRelease:     func() Entry { return new(ReleaseEntry) },
	EntryKey:         func() Entry { return new(KeyEntry) },
	EntryVerdict:     func() Entry { return new(VerdictEntry) },
	EntryAttestation: func() Entry { return new(AttestationEntry) },
	EntryYank:        func() Entry { return new(YankEntry) },
}

// ErrEntry reports a log entry that cannot be decoded.
var ErrEntry = errors.New("potluck: bad log entry")

// Entry is one record of a hub's transparency log: a *ReleaseEntry,
// *KeyEntry or *VerdictEntry, or an *UnknownEntry of a type this version
// does not know.
type Entry interface {
	// EntryType is the entry's kind.
	EntryType() EntryType
	// Header is the part every entry has.
	Header() *EntryHeader
}

// EntryHeader is what every entry starts with: its kind and when it was
// logged. EncodeEntry sets Type from the entry's Go type.
type EntryHeader struct {
	Type EntryType `json:"type"`
	Time time.Time `json:"time"`
}

// Header returns h itself; embedding EntryHeader gives an entry its Header
// method.
func (h *EntryHeader) Header() *EntryHeader { return h }

// ReleaseEntry records an accepted release.
type ReleaseEntry struct {
	EntryHeader
	Release   string `json:"release,omitempty"`
	Kind      Kind   `json:"kind,omitempty"`
	Base      string `json:"base,omitempty"`
	Publisher string `json:"publisher,omitempty"`
	Key       string `json:"key,omitempty"`    // hint of the signing key
	Bundle    string `json:"bundle,omitempty"` // hex SHA-256 of the Sigstore bundle
	// Inputs are a merge's input CIDs, in recipe order.
	Inputs []string `json:"inputs,omitempty"`
	// Verdict is "accepted" when the release came through admission, whose
	// checks (all passed) Checks lists; empty for a merge.
	Verdict string  `json:"verdict,omitempty"`
	Checks  []Check `json:"checks,omitempty"`
}

// EntryType is EntryRelease.
func (*ReleaseEntry) EntryType() EntryType { return EntryRelease }

// KeyAction is what a key entry did to a member key.
type KeyAction string

// The key actions.
const (
	KeyAdd    KeyAction = "add"
	KeyChange KeyAction = "change"
	KeyRevoke KeyAction = "revoke"
	KeyRemove KeyAction = "remove"
)

// KeyEntry records a member key's state as of Time: after an add, change
// or revoke its new state; after a remove its last one.
type KeyEntry struct {
	EntryHeader
	Key       string     `json:"key,omitempty"` // the key's hint: hex SHA-256 of its PEM
	Action    KeyAction  `json:"action,omitempty"`
	Org       string     `json:"org,omitempty"`
	Role      string     `json:"role,omitempty"`
	PublicKey string     `json:"public_key,omitempty"` // PEM
	NotBefore *time.Time `json:"not_before,omitempty"`
	NotAfter  *time.Time `json:"not_after,omitempty"`
	Revoked   *time.Time `json:"revoked,omitempty"`
}

// EntryType is EntryKey.
func (*KeyEntry) EntryType() EntryType { return EntryKey }

// Window is when the key may sign, as this entry states it.
func (e *KeyEntry) Window() KeyWindow { return WindowOf(e.NotBefore, e.NotAfter, e.Revoked) }

// VerdictEntry records an upload by a member that the hub refused: what
// was declared and signed (its files were never stored), the checks run
// and why it failed.
type VerdictEntry struct {
	EntryHeader
	Kind      Kind    `json:"kind,omitempty"`
	Base      string  `json:"base,omitempty"`
	Publisher string  `json:"publisher,omitempty"`
	Key       string  `json:"key,omitempty"`
	Bundle    string  `json:"bundle,omitempty"`
	Verdict   string  `json:"verdict,omitempty"` // "rejected"
	Checks    []Check `json:"checks,omitempty"`
	Reason    string  `json:"reason,omitempty"`
}

// EntryType is EntryVerdict.
func (*VerdictEntry) EntryType() EntryType { return EntryVerdict }

// AttestationEntry records an evaluation attestation the hub accepted: an
// in-toto statement about a release, signed by a member org's key. The
// whole signed bundle is in the entry, so an auditor holding only the log
// can check the signature, the org's key at that time (the key entries
// before it) and the claim; the other fields repeat what the bundle says,
// for readers that do not parse it.
type AttestationEntry struct {
	EntryHeader
	Release string     `json:"release"`
	Org     string     `json:"org"`
	Key     string     `json:"key"` // hint of the signing key
	Claim   Evaluation `json:"claim"`
	Bundle  []byte     `json:"bundle"` // the Sigstore bundle (base64 in JSON)
}

// EntryType is EntryAttestation.
func (*AttestationEntry) EntryType() EntryType { return EntryAttestation }

// YankEntry records a release withdrawn by its publisher or an operator.
// Its bytes stay fetchable by CID; the hub hides it from listings and
// refuses it as a new base or merge input.
type YankEntry struct {
	EntryHeader
	Release string `json:"release"`
	Org     string `json:"org"` // who yanked it
	Reason  string `json:"reason"`
}

// EntryType is EntryYank.
func (*YankEntry) EntryType() EntryType { return EntryYank }

// UnknownEntry is an entry of a type this version does not know (written
// by a newer hub); Raw holds it whole.
type UnknownEntry struct {
	EntryHeader
	Raw json.RawMessage
}

// EntryType is the type the entry names.
func (e *UnknownEntry) EntryType() EntryType { return e.Type }

// EncodeEntry returns the canonical JSON of e: its type, then its fields in
// declaration order, empty optional fields left out, no trailing newline.
// The hub hashes these bytes into the log, so they must never change for a
// given entry.
func EncodeEntry(e Entry) ([]byte, error) {
	if _, ok := e.(*UnknownEntry); ok {
		return nil, fmt.Errorf("%w: an entry of unknown type %q cannot be written", ErrEntry, e.EntryType())
	}
	h := e.Header()
	h.Type = e.EntryType()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(true) // as json.Marshal, which wrote every entry so far
	if err := enc.Encode(e); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEntry, err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// ParseEntry decodes a log entry by its type. An entry of a type this
// version does not know is returned as an *UnknownEntry, not an error, so
// that a reader of a newer hub's log can still check what it knows.
func ParseEntry(b []byte) (Entry, error) {
	var h EntryHeader
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEntry, err)
	}
	mk, ok := entryTypes[h.Type]
	if !ok {
		return &UnknownEntry{EntryHeader: h, Raw: append(json.RawMessage(nil), b...)}, nil
	}
	e := mk()
	if err := json.Unmarshal(b, e); err != nil {
		return nil, fmt.Errorf("%w: %s entry: %v", ErrEntry, h.Type, err)
	}
	return e, nil
}
