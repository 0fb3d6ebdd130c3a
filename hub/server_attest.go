package hub

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/potluck-hub/potluck/internal/wire"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
	"github.com/potluck-hub/potluck/signing"
)

// Attest records a signed evaluation statement.
func (s *Server) Attest(ctx context.Context, req *hubv1.AttestRequest) (*hubv1.AttestResponse, error) {
	a, err := s.h.Attest(ctx, req.GetBundle())
	if err != nil {
		return nil, toStatus(err)
	}
	return &hubv1.AttestResponse{Attestation: wire.Attestation(a)}, nil
}

// ListAttestations lists a release's attestations.
func (s *Server) ListAttestations(ctx context.Context, req *hubv1.ListAttestationsRequest) (*hubv1.ListAttestationsResponse, error) {
	as, err := s.attestations(ctx, req.GetReleaseCid(), req.GetOrg(), req.GetTask())
	if err != nil {
		return nil, err
	}
	return &hubv1.ListAttestationsResponse{Attestations: as}, nil
}

// attestations converts a release's attestations for the wire.
func (s *Server) attestations(ctx context.Context, release, org, task string) ([]*hubv1.Attestation, error) {
	as, err := s.h.Attestations(ctx, release, org, task)
	if err != nil {
		return nil, toStatus(err)
	}
	out := make([]*hubv1.Attestation, len(as))
	for i, a := range as {
		out[i] = wire.Attestation(a)
	}
	return out, nil
}

// CheckPublish is a publisher's preflight.
func (s *Server) CheckPublish(ctx context.Context, req *hubv1.CheckPublishRequest) (*hubv1.CheckPublishResponse, error) {
	key, err := signing.ParsePublicKey(req.GetPublicKey())
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "preflight: public key: %v", err)
	}
	c, err := s.h.CheckPublish(ctx, Preflight{Kind: wire.KindOf(req.GetKind()), Base: req.GetBaseCid(), Key: key, CID: req.GetCid()})
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &hubv1.CheckPublishResponse{Org: c.Org}
	if c.Base != nil {
		resp.Base = wire.Release(c.Base)
	}
	if c.Existing != nil {
		resp.Existing = wire.Release(c.Existing)
	}
	return resp, nil
}
