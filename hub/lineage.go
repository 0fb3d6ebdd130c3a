package hub

import (
	"context"
	"fmt"

	cid "github.com/ipfs/go-cid"

	"github.com/potluck-hub/potluck"
)

// The release graph's questions, answered from the in-memory index
// (graph.go): what was built on a release, what it was made from, and the
// whole lineage around it.

// held reports ErrNotFound, naming c, unless the hub holds release c.
func (h *Hub) held(c string) error {
	if _, err := cid.Decode(c); err != nil {
		return fmt.Errorf("%w: release %q: not a CID: %v", ErrNotFound, c, err)
	}
	h.releases.g.mu.RLock()
	_, ok := h.releases.g.byCID[c]
	h.releases.g.mu.RUnlock()
	if !ok {
		return fmt.Errorf("%w: release %s", ErrNotFound, c)
	}
	return nil
}

// Children lists the releases built directly on c (deltas against it,
// merges of it as base or input), oldest first.
func (h *Hub) Children(_ context.Context, c string) ([]string, error) {
	if err := h.held(c); err != nil {
		return nil, err
	}
	return h.releases.g.childrenOf(c), nil
}

// Descendants lists every release built on c, directly or not, oldest
// first.
func (h *Hub) Descendants(_ context.Context, c string) ([]string, error) {
	if err := h.held(c); err != nil {
		return nil, err
	}
	return h.releases.g.descendants(c), nil
}

// Ancestors lists every release c was made from, up to its root bases,
// oldest first.
func (h *Hub) Ancestors(_ context.Context, c string) ([]string, error) {
	if err := h.held(c); err != nil {
		return nil, err
	}
	return h.releases.g.ancestors(c), nil
}

// Lineage returns c's ancestors up to the root bases, c itself and every
// release built on it, oldest first (ties by CID). A node's Parents are all
// of its parents, some of which may lie outside the lineage: the other
// inputs of a merge built on c.
func (h *Hub) Lineage(_ context.Context, c string) (*potluck.Lineage, error) {
	if err := h.held(c); err != nil {
		return nil, err
	}
	ns, ok := h.releases.g.lineage(c)
	if !ok { // unpinned in between
		return nil, fmt.Errorf("%w: release %s", ErrNotFound, c)
	}
	l := &potluck.Lineage{Root: c, Nodes: make([]potluck.LineageNode, 0, len(ns))}
	for _, n := range ns {
		l.Nodes = append(l.Nodes, potluck.LineageNode{CID: n.cid, Kind: n.kind, Publisher: n.publisher, Created: n.created,
			Parents: append([]string{}, n.parents...), Yanked: n.yanked, Best: h.bestScores(n.cid)})
	}
	return l, nil
}

// ReleaseDetail describes release c with the releases built directly on it
// and its attestations.
func (h *Hub) ReleaseDetail(ctx context.Context, c string) (*potluck.ReleaseDetail, error) {
	r, err := h.releases.get(c)
	if err != nil {
		return nil, err
	}
	atts, err := h.Attestations(ctx, c, "", "")
	if err != nil {
		return nil, err
	}
	if atts == nil {
		atts = []*potluck.Attestation{}
	}
	return &potluck.ReleaseDetail{Release: r, Children: h.releases.g.childrenOf(c), Attestations: atts}, nil
}
