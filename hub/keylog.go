package hub

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"time"

	"github.com/potluck-hub/potluck"
)

// keyState is what the log last said of a member key.
type keyState struct {
	Org       string     `json:"org"`
	Role      string     `json:"role"`
	PublicKey string     `json:"public_key"`
	NotBefore *time.Time `json:"not_before,omitempty"`
	NotAfter  *time.Time `json:"not_after,omitempty"`
	Revoked   *time.Time `json:"revoked,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func stateOf(k *MemberKey) keyState {
	return keyState{Org: k.Org, Role: k.Role, PublicKey: string(k.Key.PEM),
		NotBefore: timePtr(k.NotBefore), NotAfter: timePtr(k.NotAfter), Revoked: timePtr(k.Revoked)}
}

// KeyChange is a change to a member key that the hub logged.
type KeyChange struct {
	Action   potluck.KeyAction
	Key      string // the key's hint
	Org      string
	LogIndex int64
}

// syncKeys logs every difference between the members ms and what the log
// last said of each key (kept in DATA/logged-keys.json): a key added,
// changed, revoked or removed is an entry, in key-hint order, so an auditor
// can tell which keys were valid when each release was accepted. Each
// change is also a line of the hub's log.
func (h *Hub) syncKeys(ms *Members) ([]KeyChange, error) {
	path := filepath.Join(h.opts.DataDir, "logged-keys.json")
	logged := map[string]keyState{}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &logged); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	// The hub's own key signs merges: it is logged like a member's.
	current := map[string]keyState{h.key.Public().Hint(): {Org: HubOrg, Role: RoleHub, PublicKey: string(h.key.Public().PEM)}}
	for _, o := range ms.Orgs() {
		for _, k := range o.Keys {
			current[k.Key.Hint()] = stateOf(k)
		}
	}
	var changes []KeyChange
	for _, hint := range sortedKeys(logged, current) {
		old, had := logged[hint]
		now, has := current[hint]
		action := keyAction(old, had, now, has)
		if action == "" {
			continue
		}
		if !has {
			now = old
		}
		e := &potluck.KeyEntry{EntryHeader: potluck.EntryHeader{Time: h.opts.Now().UTC()}, Action: action, Key: hint,
			Org: now.Org, Role: now.Role, PublicKey: now.PublicKey, NotBefore: now.NotBefore, NotAfter: now.NotAfter, Revoked: now.Revoked}
		_, rec, err := h.appendEntry(e)
		if err != nil {
			return changes, err
		}
		changes = append(changes, KeyChange{Action: action, Key: hint, Org: now.Org, LogIndex: rec.Index})
		h.logger.Info("member key", "action", action, "key", hint, "org", now.Org, "role", now.Role, "log_index", rec.Index)
		if has {
			logged[hint] = now
		} else {
			delete(logged, hint)
		}
	}
	if len(changes) == 0 {
		return nil, nil
	}
	b, err := json.MarshalIndent(logged, "", "  ")
	if err != nil {
		return changes, err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return changes, err
	}
	return changes, os.Rename(tmp, path)
}

func keyAction(old keyState, had bool, now keyState, has bool) potluck.KeyAction {
	switch {
	case !had && has:
		return potluck.KeyAdd
	case had && !has:
		return potluck.KeyRemove
	case reflect.DeepEqual(old, now):
		return ""
	case old.Revoked == nil && now.Revoked != nil:
		return potluck.KeyRevoke
	}
	return potluck.KeyChange
}

func sortedKeys(a, b map[string]keyState) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range []map[string]keyState{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}
