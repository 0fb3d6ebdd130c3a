package node

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/signing"
)

// Audit is what verifying a release on a hub established: for the release
// and, for a merge, for its base and each input.
type Audit struct {
	CID    string
	Report *Report
	Key    *KeyCheck // the signing key's state when the release was logged
	Inputs []*Audit  // a merge's base, then its inputs
}

// Audit fetches a release into work (kept between calls: an input shared by
// several merges is fetched once) and checks everything: every byte, the
// signature by a trusted key, the log receipt against logKey, that the key
// was valid when the release was logged, and, for a merge, its provenance
// and the same checks for the base and every input it names, each input's
// files matching the root digest the provenance records.
func (c *Client) Audit(ctx context.Context, cid, work string, trusted []*signing.PublicKey, logKey string) (*Audit, error) {
	dir := filepath.Join(work, cid)
	if _, err := os.Stat(dir); err != nil {
		if _, err := c.Pull(ctx, cid, dir, trusted, nil); err != nil {
			return nil, err
		}
	}
	rep, err := VerifyDirWith(dir, trusted, VerifyOptions{LogKey: logKey})
	if err != nil {
		return nil, err
	}
	if rep.CID != cid {
		return nil, fmt.Errorf("%w: %s holds release %s, not %s", ErrVerify, dir, rep.CID, cid)
	}
	a := &Audit{CID: cid, Report: rep}
	if rep.Receipt != nil {
		if a.Key, err = c.CheckKeyAtLogTime(ctx, rep.Receipt); err != nil {
			return nil, fmt.Errorf("release %s: %w", cid, err)
		}
	}
	if p := rep.Provenance; p != nil {
		for _, ref := range append([]potluck.ProvenanceRef{p.Base}, p.Inputs...) {
			in, err := c.Audit(ctx, ref.CID, work, trusted, logKey)
			if err != nil {
				return nil, fmt.Errorf("merge %s: input %s: %w", cid, ref.CID, err)
			}
			if got := hex.EncodeToString(in.Report.Signed.Root[:]); got != ref.Root {
				return nil, fmt.Errorf("%w: merge %s: input %s has root sha256 %s, the provenance records %s", ErrVerify, cid, ref.CID, got, ref.Root)
			}
			a.Inputs = append(a.Inputs, in)
		}
	}
	return a, nil
}
