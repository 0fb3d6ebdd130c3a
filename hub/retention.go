package hub

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	cid "github.com/ipfs/go-cid"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/store"
)

// Unpin drops a release from the hub's index so that the next GC reclaims
// its files. It is refused (store.ErrPinned) while anything refers to the
// release: a delta or merge built on it, a merge that took it as an input,
// or an entry of the hub's log.
func (h *Hub) Unpin(ctx context.Context, c string) error {
	r, err := h.releases.get(c)
	if err != nil {
		return err
	}
	refs, err := h.referrers(ctx, r)
	if err != nil {
		return err
	}
	if len(refs) > 0 {
		return fmt.Errorf("%w: release %s: %s", store.ErrPinned, c, strings.Join(refs, "; "))
	}
	root, err := cid.Decode(c)
	if err != nil {
		return err
	}
	if err := h.store.Unpin(ctx, root); err != nil {
		return err
	}
	if err := h.releases.remove(c); err != nil {
		return fmt.Errorf("hub: unpin %s: %w", c, err)
	}
	return nil
}

// referrers says what refers to release r, one phrase each.
func (h *Hub) referrers(ctx context.Context, r *potluck.Release) ([]string, error) {
	logged, err := h.loggedReferrers(r)
	if err != nil {
		return nil, err
	}
	refs := logged
	all, err := h.releases.list("", "")
	if err != nil {
		return nil, err
	}
	for _, o := range all {
		if o.Base == r.CID {
			refs = append(refs, fmt.Sprintf("%s %s is built on it", o.Kind, o.CID))
			continue
		}
		if o.Kind != potluck.KindMerge {
			continue
		}
		inputs, err := h.mergeInputs(ctx, o)
		if err != nil {
			return nil, err
		}
		if slices.Contains(inputs, r.CID) {
			refs = append(refs, fmt.Sprintf("merge %s took it as an input", o.CID))
		}
	}
	return refs, nil
}

// loggedReferrers is the hook for the hub's log: a release with an entry
// in the transparency log is history an auditor must still be able to
// fetch and check, so its entry pins it. A yanked release is the
// exception: its yank entry records that it was withdrawn, so an operator
// may free its bytes; its release and yank entries stay in the log. (The
// releases built on it still pin it: see referrers.)
func (h *Hub) loggedReferrers(r *potluck.Release) ([]string, error) {
	if r.Receipt == nil || r.Yank != nil {
		return nil, nil
	}
	return []string{fmt.Sprintf("entry %d of the hub's log records it", r.Receipt.Index)}, nil
}

// mergeInputs reads a merge release's inputs from its stored manifest.
func (h *Hub) mergeInputs(ctx context.Context, r *potluck.Release) ([]string, error) {
	f, ok := r.File(potluck.ManifestFile)
	if !ok {
		return nil, nil
	}
	c, err := cid.Decode(f.CID)
	if err != nil {
		return nil, err
	}
	v, err := h.store.OpenVerified(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("hub: manifest of merge %s: %w", r.CID, err)
	}
	defer v.Close()
	b, err := io.ReadAll(io.NewSectionReader(v, 0, v.Size()))
	if err != nil {
		return nil, fmt.Errorf("hub: manifest of merge %s: %w", r.CID, err)
	}
	m, err := potluck.ParseManifest(b)
	if err != nil || m.Merge == nil {
		return nil, err
	}
	var out []string
	for _, in := range m.Merge.Inputs {
		out = append(out, in.CID)
	}
	return out, nil
}

// GC reclaims every stored file and directory that no release the hub
// lists (and no store pin, such as `potluck store add` makes) reaches, and
// the leftovers of interrupted imports. Anything younger than grace is
// spared, so uploads in flight are safe.
func (h *Hub) GC(ctx context.Context, grace time.Duration) (store.GCStats, error) {
	all, err := h.releases.list("", "")
	if err != nil {
		return store.GCStats{}, err
	}
	var keep []cid.Cid
	for _, r := range all {
		c, err := cid.Decode(r.CID)
		if err != nil {
			return store.GCStats{}, fmt.Errorf("hub: gc: release %q: %w", r.CID, err)
		}
		keep = append(keep, c)
	}
	return h.store.GC(ctx, store.GCOptions{Keep: keep, Grace: grace})
}
