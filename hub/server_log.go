package hub

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"golang.org/x/mod/sumdb/tlog"

	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
)

// maxEntriesPerCall bounds GetEntries.
const maxEntriesPerCall = 1000

// GetCheckpoint returns the log's latest signed checkpoint.
func (s *Server) GetCheckpoint(context.Context, *hubv1.GetCheckpointRequest) (*hubv1.GetCheckpointResponse, error) {
	return &hubv1.GetCheckpointResponse{Checkpoint: s.h.log.Checkpoint()}, nil
}

// GetEntries returns up to maxEntriesPerCall entries from start.
func (s *Server) GetEntries(_ context.Context, req *hubv1.GetEntriesRequest) (*hubv1.GetEntriesResponse, error) {
	if req.GetStart() < 0 || req.GetCount() < 1 || req.GetCount() > maxEntriesPerCall {
		return nil, status.Errorf(codes.InvalidArgument, "entries: start %d, count %d (1 to %d)", req.GetStart(), req.GetCount(), maxEntriesPerCall)
	}
	resp := &hubv1.GetEntriesResponse{}
	for i := req.GetStart(); i < req.GetStart()+req.GetCount(); i++ {
		e, err := s.h.log.Entry(i)
		if err != nil {
			if len(resp.Entries) > 0 {
				break
			}
			return nil, toStatus(err)
		}
		resp.Entries = append(resp.Entries, e)
	}
	return resp, nil
}

// GetInclusionProof proves entry index is in the tree of tree_size.
func (s *Server) GetInclusionProof(_ context.Context, req *hubv1.GetInclusionProofRequest) (*hubv1.GetInclusionProofResponse, error) {
	p, err := s.h.log.InclusionProof(req.GetIndex(), req.GetTreeSize())
	if err != nil {
		return nil, toStatus(err)
	}
	return &hubv1.GetInclusionProofResponse{Proof: hashesToBytes(p)}, nil
}

// GetConsistencyProof proves tree first is a prefix of tree second.
func (s *Server) GetConsistencyProof(_ context.Context, req *hubv1.GetConsistencyProofRequest) (*hubv1.GetConsistencyProofResponse, error) {
	p, err := s.h.log.ConsistencyProof(req.GetFirst(), req.GetSecond())
	if err != nil {
		return nil, toStatus(err)
	}
	return &hubv1.GetConsistencyProofResponse{Proof: hashesToBytes(p)}, nil
}

func hashesToBytes(hs []tlog.Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i, h := range hs {
		out[i] = append([]byte(nil), h[:]...)
	}
	return out
}
