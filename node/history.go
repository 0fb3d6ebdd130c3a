package node

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/potluck-hub/potluck"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
	"github.com/potluck-hub/potluck/translog"
)

// KeyCheck is what the log says of the key that signed a release.
type KeyCheck struct {
	Org      string
	LoggedAt time.Time // when the release's entry was logged
}

// CheckKeyAtLogTime reads the hub's log up to the receipt's checkpoint,
// proves those entries are exactly the checkpoint's tree (so none was left
// out or altered), and checks that the key that signed the release was a
// member key, inside its window and not revoked, when the release was
// logged.
func (c *Client) CheckKeyAtLogTime(ctx context.Context, r *potluck.Receipt) (*KeyCheck, error) {
	v, err := translog.NewVerifier(r.LogKey)
	if err != nil {
		return nil, err
	}
	cp, err := translog.ParseCheckpoint(r.Checkpoint, r.LogOrigin, v)
	if err != nil {
		return nil, err
	}
	entries, err := c.entries(ctx, cp)
	if err != nil {
		return nil, err
	}
	if r.Index >= int64(len(entries)) || string(entries[r.Index]) != string(r.Entry) {
		return nil, fmt.Errorf("%w: log entry %d is not the receipt's", ErrVerify, r.Index)
	}
	return keyAtLogTime(entries, r.Index)
}

// keyAtLogTime replays the key entries before entry index and checks the
// key that signed that (release) entry was valid when it was logged.
func keyAtLogTime(entries [][]byte, index int64) (*KeyCheck, error) {
	pe, err := potluck.ParseEntry(entries[index])
	if err != nil {
		return nil, fmt.Errorf("%w: log entry %d: %w", ErrVerify, index, err)
	}
	rel, ok := pe.(*potluck.ReleaseEntry)
	if !ok || rel.Key == "" {
		return nil, fmt.Errorf("%w: log entry %d names no signing key (a %s entry)", ErrVerify, index, pe.EntryType())
	}
	keys := keyStates{}
	for _, b := range entries[:index] {
		if e, err := potluck.ParseEntry(b); err == nil {
			keys.apply(e)
		}
	}
	state, err := keys.check(rel.Key, rel.Time, index)
	if err != nil {
		return nil, err
	}
	return &KeyCheck{Org: state.Org, LoggedAt: rel.Time}, nil
}

// keyStates replays a log's key entries: what the log last said of each
// member key, by hint.
type keyStates map[string]*potluck.KeyEntry

// apply takes in one entry: a key entry sets its key's state (a removal
// forgets it); other entries change nothing.
func (ks keyStates) apply(e potluck.Entry) {
	k, ok := e.(*potluck.KeyEntry)
	switch {
	case !ok:
	case k.Action == potluck.KeyRemove:
		delete(ks, k.Key)
	default:
		ks[k.Key] = k
	}
}

// check returns the state of key hint and checks that it was a member key,
// inside its window and not revoked, at t, when entry index was logged.
func (ks keyStates) check(hint string, t time.Time, index int64) (*potluck.KeyEntry, error) {
	state := ks[hint]
	if state == nil {
		return nil, fmt.Errorf("%w: key %s was not a member key when entry %d was logged", ErrVerify, hint, index)
	}
	if err := state.Window().Check(t); err != nil {
		return nil, fmt.Errorf("%w: key %s of %q was %v when entry %d was logged", ErrVerify, hint, state.Org, err, index)
	}
	return state, nil
}

// entries fetches every entry of the tree cp commits to and checks that
// they hash to its root.
func (c *Client) entries(ctx context.Context, cp *translog.Checkpoint) ([][]byte, error) {
	var out [][]byte
	var stored []tlog.Hash
	reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		hs := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			if x >= int64(len(stored)) {
				return nil, fmt.Errorf("hash %d not computed", x)
			}
			hs[i] = stored[x]
		}
		return hs, nil
	})
	for int64(len(out)) < cp.Size {
		resp, err := c.hub.GetEntries(ctx, &hubv1.GetEntriesRequest{Start: int64(len(out)), Count: min(1000, cp.Size-int64(len(out)))})
		if err != nil {
			return nil, fmt.Errorf("node: log entries: %w", err)
		}
		if len(resp.GetEntries()) == 0 {
			return nil, fmt.Errorf("%w: the hub returned no entries at %d of %d", ErrVerify, len(out), cp.Size)
		}
		for _, e := range resp.GetEntries() {
			hs, err := tlog.StoredHashes(int64(len(out)), e, reader)
			if err != nil {
				return nil, err
			}
			stored = append(stored, hs...)
			out = append(out, e)
		}
	}
	if cp.Size > 0 {
		root, err := tlog.TreeHash(cp.Size, reader)
		if err != nil || root != cp.Hash {
			return nil, fmt.Errorf("%w: the hub's entries do not hash to its checkpoint (%v)", ErrVerify, err)
		}
	}
	return out[:cp.Size], nil
}
