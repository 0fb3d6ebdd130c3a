package hub

import (
	"context"
	"errors"
	"fmt"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/signing"
)

// Preflight describes a publication before the publisher computes or
// sends anything (see Hub.CheckPublish).
type Preflight struct {
	Kind potluck.Kind       // base or delta
	Base string             // for a delta: the release it is against; "" checks the key alone
	Key  *signing.PublicKey // the key that will sign it
	CID  string             // the release's root CID, once known
}

// Cleared is the hub's answer to a preflight that passed.
type Cleared struct {
	Org      string           // the org the key (and the caller) belongs to
	Base     *potluck.Release // the delta's base, when named
	Existing *potluck.Release // the release already held under Preflight.CID, if any
}

// CheckPublish answers a publisher before it computes or sends anything,
// with the rules the upload will meet: the key is a member's and may sign
// now, the caller (when authenticated) is of the key's org, and a delta's
// base passes the admission's base stage (the same function). Given the
// CID, it says whether the hub already holds that release, so the
// publisher sends nothing twice.
func (h *Hub) CheckPublish(ctx context.Context, p Preflight) (*Cleared, error) {
	if p.Kind != potluck.KindBase && p.Kind != potluck.KindDelta {
		return nil, fmt.Errorf("%w: preflight: kind %q cannot be published (base or delta)", ErrRejected, p.Kind)
	}
	mk, ok := h.members.Load().Key(p.Key)
	if !ok {
		return nil, fmt.Errorf("%w: preflight: key %s is no member's key on this hub (the operator lists members' public keys in the members file)", ErrForbidden, p.Key.Hint())
	}
	if err := mk.ValidAt(h.opts.Now()); err != nil {
		return nil, fmt.Errorf("preflight: %w", err)
	}
	if c := CallerFrom(ctx); c != nil && c.Org != mk.Org {
		return nil, fmt.Errorf("%w: preflight: key %s is %q's, but the caller authenticated as %q: sign with a key of your own org",
			ErrForbidden, p.Key.Hint(), mk.Org, c.Org)
	}
	out := &Cleared{Org: mk.Org}
	if p.Kind == potluck.KindDelta && p.Base != "" {
		if err := h.checkBase(ctx, &admission{up: Upload{Kind: p.Kind, Base: p.Base}}); err != nil {
			return nil, fmt.Errorf("preflight: %w", err)
		}
		base, err := h.releases.get(p.Base)
		if err != nil {
			return nil, err
		}
		out.Base = base
	}
	if p.CID != "" {
		r, err := h.releases.get(p.CID)
		switch {
		case err == nil:
			out.Existing = r
		case !errors.Is(err, ErrNotFound):
			return nil, err
		}
	}
	return out, nil
}
