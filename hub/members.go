package hub

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/signing"
)

// ErrMembers reports a members file that cannot be used.
var ErrMembers = errors.New("hub: bad members file")

// ErrKeyInvalid reports a member key used outside its validity window, or
// after it was revoked.
var ErrKeyInvalid = errors.New("hub: key not valid")

// Roles a member org can have.
const (
	RolePublisher = "publisher" // publishes bases and deltas
	RoleOperator  = "operator"  // runs the hub; may also publish
	RoleHub       = "hub"       // the hub's own key, which signs merges
)

// A members file is the YAML (or JSON) an operator writes; ParseMembers
// (members_parse.go) reads it:
//
//	orgs:
//	  - name: lab-a
//	    role: publisher               # or operator; publisher by default
//	    keys:
//	      - file: keys/lab-a.pub      # relative to the members file
//	        not_before: 2026-01-01T00:00:00Z
//	        not_after: 2027-01-01T00:00:00Z
//	      - pem: |
//	          -----BEGIN PUBLIC KEY-----
//	          ...
//	        revoked: 2026-06-01T00:00:00Z
//	    tokens:                       # bearer tokens, by hash only
//	      - sha256:9f86d081884c7d65...
type keyEntry struct {
	File      string
	PEM       string
	NotBefore *time.Time
	NotAfter  *time.Time
	Revoked   *time.Time
}

// MemberKey is one key of a member org, with when it may sign.
type MemberKey struct {
	Key  *signing.PublicKey
	Org  string
	Role string
	potluck.KeyWindow
}

// ValidAt reports, with the reason, whether the key may sign at t.
func (k *MemberKey) ValidAt(t time.Time) error {
	if err := k.Check(t); err != nil {
		return fmt.Errorf("%w: key %s of %q was %v", ErrKeyInvalid, k.Key.Hint(), k.Org, err)
	}
	return nil
}

// Member is an organisation, its role and its keys.
type Member struct {
	Org  string
	Role string
	Keys []*MemberKey
}

// Members is the consortium: who may publish, with which keys, when.
type Members struct {
	orgs    []Member
	byKey   map[string]*MemberKey // key hint → key
	byToken map[string]Member     // "sha256:…" → org
}

// LoadMembers reads a members file; relative key files resolve against
// its folder.
func LoadMembers(path string) (*Members, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMembers, err)
	}
	ms, err := parseMembers(b, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMembers, path, err)
	}
	return ms, nil
}

// ParseMembers parses a members file's bytes; relative key files resolve
// against dir. Each error is one line naming the line, the org and the field.
func ParseMembers(b []byte, dir string) (*Members, error) {
	ms, err := parseMembers(b, dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMembers, err)
	}
	return ms, nil
}

// Counts returns how many orgs, keys and bearer tokens the members list.
func (m *Members) Counts() (orgs, keys, tokens int) {
	for _, o := range m.orgs {
		keys += len(o.Keys)
	}
	return len(m.orgs), keys, len(m.byToken)
}

func (ms *Members) addOrg(dir, name, role string, keys []keyEntry) (Member, error) {
	if name == "" || name == HubOrg {
		return Member{}, fmt.Errorf("org name %q is empty or reserved", name)
	}
	if role == "" {
		role = RolePublisher
	}
	if role != RolePublisher && role != RoleOperator {
		return Member{}, fmt.Errorf("org %q: role %q (publisher or operator)", name, role)
	}
	m := Member{Org: name, Role: role}
	for j, k := range keys {
		key, err := loadKey(dir, k.File, k.PEM)
		if err != nil {
			return Member{}, fmt.Errorf("org %q key %d: %v", name, j, err)
		}
		if prev, dup := ms.byKey[key.Hint()]; dup {
			return Member{}, fmt.Errorf("a key of org %q is also listed for %q", name, prev.Org)
		}
		mk := &MemberKey{Key: key, Org: name, Role: role, KeyWindow: potluck.WindowOf(k.NotBefore, k.NotAfter, k.Revoked)}
		ms.byKey[key.Hint()] = mk
		m.Keys = append(m.Keys, mk)
	}
	return m, nil
}

// addTokens indexes an org's token hashes; one token opens one org.
func (ms *Members) addTokens(m Member, hashes []string) error {
	for _, t := range hashes {
		if err := checkTokenHash(t); err != nil {
			return fmt.Errorf("org %q: %v", m.Org, err)
		}
		if prev, dup := ms.byToken[t]; dup {
			return fmt.Errorf("a token of org %q is also listed for %q", m.Org, prev.Org)
		}
		ms.byToken[t] = m
	}
	return nil
}

// TokenOrg returns the org that lists a token hash.
func (m *Members) TokenOrg(hash string) (Member, bool) {
	o, ok := m.byToken[hash]
	return o, ok
}

func loadKey(dir, file, pem string) (*signing.PublicKey, error) {
	switch {
	case file != "" && pem != "":
		return nil, errors.New("give file or pem, not both")
	case file != "":
		if !filepath.IsAbs(file) {
			file = filepath.Join(dir, file)
		}
		return signing.LoadPublicKey(file)
	case pem != "":
		return signing.ParsePublicKey([]byte(pem))
	}
	return nil, errors.New("no file or pem")
}

// Orgs returns every member, sorted by name.
func (m *Members) Orgs() []Member { return m.orgs }

// Keys returns every member key, valid now or not: a signature is first
// attributed, then judged against the key's window.
func (m *Members) Keys() []*signing.PublicKey {
	var keys []*signing.PublicKey
	for _, o := range m.orgs {
		for _, k := range o.Keys {
			keys = append(keys, k.Key)
		}
	}
	return keys
}

// Key returns the member key with this public key.
func (m *Members) Key(k *signing.PublicKey) (*MemberKey, bool) {
	mk, ok := m.byKey[k.Hint()]
	return mk, ok
}
