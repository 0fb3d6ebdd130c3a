package hub

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	cid "github.com/ipfs/go-cid"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/store"
)

// A release record that cannot be read (a truncated write, a flipped
// byte) is left out of listings, and Open rebuilds it from what else the
// hub holds: the release's log entry (kind, base, publisher, key, time,
// checks, parents, its receipt and its yank) and its directory in the
// store (its files). The damaged file is kept under DATA/damaged/. What
// neither holds is lost: the signature bundle (the log keeps only its
// digest) and a merge's provenance. The publisher restores the bundle by
// publishing the same bytes again: the hub takes a bundle whose digest the
// entry names (restoreBundle). A record that cannot be rebuilt stays out,
// named in the hub's log at every start.

// repairRecords rebuilds the damaged records openReleases found.
func (h *Hub) repairRecords(ctx context.Context) error {
	var damaged []string
	h.releases.damaged.Range(func(k, _ any) bool {
		damaged = append(damaged, k.(string))
		return true
	})
	if len(damaged) == 0 {
		return nil
	}
	slices.Sort(damaged)
	logged, yanks, err := h.entriesOf(damaged)
	if err != nil {
		return err
	}
	for _, c := range damaged {
		why, _ := h.releases.damaged.Load(c)
		i, ok := logged[c]
		if !ok {
			h.logger.Error("release record damaged, and the log has no entry to rebuild it from: not served", "release", c, "damage", why)
			continue
		}
		if err := h.repairRecord(ctx, c, i, yanks[c]); err != nil {
			h.logger.Error("release record damaged, not rebuilt: not served", "release", c, "damage", why, "err", err)
			continue
		}
		h.logger.Warn("release record damaged: rebuilt from the store and the log, without its signature bundle (publish the same bytes again to restore it)",
			"release", c, "damage", why, "log_index", i, "kept", h.damagedPath(c))
	}
	return nil
}

// entriesOf finds the latest release entry and yank of each of cids.
func (h *Hub) entriesOf(cids []string) (map[string]int64, map[string]*potluck.Yank, error) {
	want := map[string]bool{}
	for _, c := range cids {
		want[c] = true
	}
	logged, yanks := map[string]int64{}, map[string]*potluck.Yank{}
	for i := range h.log.Size() {
		b, err := h.log.Entry(i)
		if err != nil {
			return nil, nil, fmt.Errorf("hub: reading log entry %d: %w", i, err)
		}
		switch e, _ := potluck.ParseEntry(b); e := e.(type) {
		case *potluck.ReleaseEntry:
			if want[e.Release] {
				logged[e.Release] = i
			}
		case *potluck.YankEntry:
			if want[e.Release] {
				yanks[e.Release] = &potluck.Yank{Time: e.Time, Org: e.Org, Reason: e.Reason, LogIndex: i}
			}
		}
	}
	return logged, yanks, nil
}

func (h *Hub) damagedPath(c string) string {
	return filepath.Join(h.opts.DataDir, "damaged", c+".json")
}

// repairRecord rebuilds release c's record from log entry i and the store.
func (h *Hub) repairRecord(ctx context.Context, c string, i int64, yank *potluck.Yank) error {
	b, err := h.log.Entry(i)
	if err != nil {
		return err
	}
	e, err := potluck.ParseEntry(b)
	if err != nil {
		return fmt.Errorf("log entry %d: %w", i, err)
	}
	re := e.(*potluck.ReleaseEntry)
	root, err := cid.Decode(c)
	if err != nil {
		return err
	}
	entries, err := h.store.ListDir(ctx, root)
	if err != nil {
		return fmt.Errorf("its directory in the store: %w", err)
	}
	inc, err := h.log.Prove(i)
	if err != nil {
		return err
	}
	r := &potluck.Release{CID: c, Kind: re.Kind, Base: re.Base, Publisher: re.Publisher, Files: store.Describe(entries),
		KeyHint: re.Key, Created: re.Time, Receipt: receiptOf(inc, b), Inputs: re.Inputs, Yank: yank}
	if re.Verdict == "accepted" {
		r.Checks = re.Checks
	}
	if err := os.MkdirAll(filepath.Dir(h.damagedPath(c)), 0o755); err != nil {
		return err
	}
	if err := os.Rename(h.releases.path(c), h.damagedPath(c)); err != nil {
		return err
	}
	_, err = h.releases.put(r)
	return err
}

// restoreBundle gives a rebuilt record (one without a bundle) the bundle
// of a new upload of the same release, if its digest is the one logged;
// it returns the record as it now is.
func (h *Hub) restoreBundle(old *potluck.Release, bundle []byte) *potluck.Release {
	if len(old.Bundle) > 0 || len(bundle) == 0 || old.Receipt == nil {
		return old
	}
	e, err := potluck.ParseEntry(old.Receipt.Entry)
	re, ok := e.(*potluck.ReleaseEntry)
	if err != nil || !ok || re.Bundle != bundleDigest(bundle) {
		return old
	}
	r := *old
	r.Bundle = bytes.Clone(bundle)
	if err := h.releases.replace(&r); err != nil {
		h.logger.Warn("restoring a rebuilt record's bundle failed", "release", old.CID, "err", err)
		return old
	}
	h.logger.Info("rebuilt record's bundle restored", "release", old.CID)
	return &r
}
