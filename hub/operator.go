package hub

import (
	"context"
	"fmt"
	"sort"

	"github.com/potluck-hub/potluck"
)

// An operator's work on a running hub: re-reading the members file (token
// rotation and key revocation without a restart) and seeing the merge jobs.

// MembersReload is what a reload loaded and what it changed.
type MembersReload struct {
	Orgs, Keys, Tokens int
	// KeyChanges are the key changes logged, in key-hint order.
	KeyChanges []KeyChange
}

// ReloadMembers re-reads the members file. A file that cannot be used is
// refused and the members in force stay. Otherwise the key changes are
// logged, as at start, and then the new members take over: tokens and keys
// the file no longer lists stop working at once. No release is recorded
// between the two.
func (h *Hub) ReloadMembers() (*MembersReload, error) {
	h.reloadMu.Lock()
	defer h.reloadMu.Unlock()
	ms, err := LoadMembers(h.opts.MembersFile)
	if err != nil {
		h.logger.Error("members reload refused; the members in force stay", "file", h.opts.MembersFile, "error", err)
		return nil, err
	}
	h.recordMu.Lock()
	changes, err := h.syncKeys(ms)
	if err == nil {
		h.members.Store(ms)
	}
	h.recordMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("hub: logging member keys: %w", err)
	}
	r := &MembersReload{KeyChanges: changes}
	r.Orgs, r.Keys, r.Tokens = ms.Counts()
	h.logger.Info("members reloaded", "file", h.opts.MembersFile, "orgs", r.Orgs, "keys", r.Keys, "tokens", r.Tokens, "key_changes", len(changes))
	return r, nil
}

// ListMergeJobs lists merge jobs, newest first: every job to an operator,
// the jobs its org started to a member.
func (h *Hub) ListMergeJobs(ctx context.Context) ([]*potluck.MergeJob, error) {
	c := CallerFrom(ctx)
	if c == nil {
		return nil, fmt.Errorf("%w: listing merge jobs needs a member's token (an operator's to see every org's)", ErrUnauthenticated)
	}
	h.jobs.mu.Lock()
	var out []*potluck.MergeJob
	for _, j := range h.jobs.byID {
		if c.Role == RoleOperator || j.rec.Org == c.Org {
			out = append(out, h.snapshot(j))
		}
	}
	h.jobs.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.After(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}
