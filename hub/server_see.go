package hub

import (
	"context"
	"fmt"

	"github.com/potluck-hub/potluck/internal/wire"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
)

// The gRPC calls that show the release graph and withdraw releases.

// listQuery reads a ListRequest, refusing a kind this version does not
// know rather than listing every kind.
func listQuery(req *hubv1.ListRequest) (ListQuery, error) {
	k := wire.KindOf(req.GetKind())
	if k == "" && req.GetKind() != hubv1.ReleaseKind_RELEASE_KIND_UNSPECIFIED {
		return ListQuery{}, fmt.Errorf("%w: kind %v: want RELEASE_KIND_BASE, RELEASE_KIND_DELTA or RELEASE_KIND_MERGE (or unspecified for every kind)",
			ErrBadRequest, req.GetKind())
	}
	return ListQuery{Kind: k, Base: req.GetBaseCid(), Org: req.GetOrg(), IncludeYanked: req.GetIncludeYanked(),
		PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken()}, nil
}

// GetLineage returns a release's ancestors, itself and its descendants.
func (s *Server) GetLineage(ctx context.Context, req *hubv1.GetLineageRequest) (*hubv1.GetLineageResponse, error) {
	l, err := s.h.Lineage(ctx, req.GetCid())
	if err != nil {
		return nil, toStatus(err)
	}
	return &hubv1.GetLineageResponse{Lineage: wire.Lineage(l)}, nil
}

// Yank withdraws a release (its publisher org or an operator).
func (s *Server) Yank(ctx context.Context, req *hubv1.YankRequest) (*hubv1.YankResponse, error) {
	r, affected, err := s.h.Yank(ctx, req.GetCid(), req.GetReason())
	if err != nil {
		return nil, toStatus(err)
	}
	return &hubv1.YankResponse{Release: wire.Release(r), Affected: affected}, nil
}
