package hub

import (
	"context"

	"github.com/potluck-hub/potluck/internal/wire"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
)

// ReloadMembers re-reads the members file (operators only: see the
// interceptor).
func (s *Server) ReloadMembers(context.Context, *hubv1.ReloadMembersRequest) (*hubv1.ReloadMembersResponse, error) {
	r, err := s.h.ReloadMembers()
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &hubv1.ReloadMembersResponse{Orgs: uint32(r.Orgs), Keys: uint32(r.Keys), Tokens: uint32(r.Tokens)}
	for _, c := range r.KeyChanges {
		resp.KeyChanges = append(resp.KeyChanges, &hubv1.KeyChange{Action: string(c.Action), Key: c.Key, Org: c.Org, LogIndex: c.LogIndex})
	}
	return resp, nil
}

// ListMergeJobs lists the merge jobs the caller may see.
func (s *Server) ListMergeJobs(ctx context.Context, _ *hubv1.ListMergeJobsRequest) (*hubv1.ListMergeJobsResponse, error) {
	js, err := s.h.ListMergeJobs(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &hubv1.ListMergeJobsResponse{}
	for _, j := range js {
		resp.Jobs = append(resp.Jobs, wire.MergeJob(j))
	}
	return resp, nil
}
