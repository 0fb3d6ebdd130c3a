package node

import (
	"context"
	"fmt"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/internal/wire"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
)

// ListOptions select a hub's releases; empty fields match all.
type ListOptions struct {
	Kind          potluck.Kind
	Base          string // releases against this base
	Org           string // releases this org published
	IncludeYanked bool   // the hub leaves yanked releases out unless set
	// PageSize is how many releases to ask for per call (0: the hub's
	// default).
	PageSize int
}

// ListPage returns one page of releases, oldest first, from where token
// says (empty for the first page), and the token of the next page (empty
// after the last).
func (c *Client) ListPage(ctx context.Context, o ListOptions, token string) ([]*potluck.Release, string, error) {
	resp, err := c.hub.List(ctx, &hubv1.ListRequest{Kind: wire.Kind(o.Kind), BaseCid: o.Base, Org: o.Org,
		IncludeYanked: o.IncludeYanked, PageSize: int32(min(o.PageSize, 1<<30)), PageToken: token})
	if err != nil {
		return nil, "", fmt.Errorf("node: list: %w", err)
	}
	out := make([]*potluck.Release, 0, len(resp.GetReleases()))
	for _, p := range resp.GetReleases() {
		r, err := wire.ReleaseOf(p)
		if err != nil {
			return nil, "", err
		}
		out = append(out, r)
	}
	return out, resp.GetNextPageToken(), nil
}

// ListAll returns every release o selects, oldest first, following the
// hub's pages.
func (c *Client) ListAll(ctx context.Context, o ListOptions) ([]*potluck.Release, error) {
	out := []*potluck.Release{}
	seen := map[string]bool{}
	for token := ""; ; {
		page, next, err := c.ListPage(ctx, o, token)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" {
			return out, nil
		}
		if seen[next] {
			return nil, fmt.Errorf("node: list: the hub gave page token %q twice", next)
		}
		seen[next], token = true, next
	}
}

// Detail describes a release with the releases built directly on it and
// its attestations.
func (c *Client) Detail(ctx context.Context, cid string) (*potluck.ReleaseDetail, error) {
	resp, err := c.hub.GetRelease(ctx, &hubv1.GetReleaseRequest{Cid: cid})
	if err != nil {
		return nil, fmt.Errorf("node: release %s: %w", cid, err)
	}
	return wire.ReleaseDetailOf(resp)
}

// Lineage returns the release graph around a release: its ancestors up to
// the root bases, itself and every release built on it, oldest first.
func (c *Client) Lineage(ctx context.Context, cid string) (*potluck.Lineage, error) {
	resp, err := c.hub.GetLineage(ctx, &hubv1.GetLineageRequest{Cid: cid})
	if err != nil {
		return nil, fmt.Errorf("node: lineage of %s: %w", cid, err)
	}
	return wire.LineageOf(resp.GetLineage())
}
