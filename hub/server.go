package hub

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/internal/wire"
	"github.com/potluck-hub/potluck/merge"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
	"github.com/potluck-hub/potluck/safetensors"
	"github.com/potluck-hub/potluck/signing"
	"github.com/potluck-hub/potluck/store"
	"github.com/potluck-hub/potluck/translog"
)

// GetChunk is the size of the data messages Get streams.
const GetChunk = 1 << 20

// MaxRecvMsgSize lets an upload chunk of MaxChunk bytes through with its
// envelope.
const MaxRecvMsgSize = MaxChunk + 64<<10

// Server is the gRPC transport of a Hub.
type Server struct {
	hubv1.UnimplementedHubServiceServer
	h *Hub
}

// NewServer returns the gRPC service for h.
func NewServer(h *Hub) *Server { return &Server{h: h} }

// NewGRPCServer returns a grpc.Server with the hub's service registered and
// message limits fit for chunked uploads.
//
// It also serves the standard health service (the hub is SERVING once open)
// and server reflection, so grpcurl and load balancers work against it.
//
// Unless the hub is plaintext it speaks TLS (mutual when a client CA is
// configured), and every call passes the access interceptors.
func NewGRPCServer(h *Hub, opts ...grpc.ServerOption) *grpc.Server {
	base := []grpc.ServerOption{grpc.MaxRecvMsgSize(MaxRecvMsgSize),
		grpc.ChainUnaryInterceptor(h.unaryInterceptor), grpc.ChainStreamInterceptor(h.streamInterceptor)}
	if h.tls != nil {
		base = append(base, grpc.Creds(credentials.NewTLS(h.tls.Config)))
	}
	g := grpc.NewServer(append(base, opts...)...)
	hubv1.RegisterHubServiceServer(g, NewServer(h))
	hs := health.NewServer()
	hs.SetServingStatus(hubv1.HubService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(g, hs)
	reflection.Register(g)
	return g
}

// GetInfo returns the hub's identity and members.
func (s *Server) GetInfo(context.Context, *hubv1.GetInfoRequest) (*hubv1.GetInfoResponse, error) {
	info := s.h.Info()
	resp := &hubv1.GetInfoResponse{Version: info.Version, PublicKey: info.PublicKey.PEM, LogOrigin: info.LogOrigin,
		LogKey: info.LogKey, TlsFingerprint: info.TLSFingerprint}
	for _, m := range info.Members {
		pm := &hubv1.Member{Org: m.Org}
		for _, k := range m.Keys {
			pm.PublicKeys = append(pm.PublicKeys, k.Key.PEM)
		}
		resp.Members = append(resp.Members, pm)
	}
	return resp, nil
}

// Get streams a byte range of a stored file.
func (s *Server) Get(req *hubv1.GetRequest, stream hubv1.HubService_GetServer) error {
	ctx := stream.Context()
	sec, off, err := s.h.Range(ctx, req.GetCid(), req.GetPath(), req.GetOffset(), req.GetLength())
	if err != nil {
		return toStatus(err)
	}
	defer sec.Close()
	buf := make([]byte, GetChunk)
	for {
		n, err := io.ReadFull(sec, buf)
		if n > 0 {
			if err := stream.Send(&hubv1.GetResponse{Offset: uint64(off), Data: buf[:n]}); err != nil {
				return err
			}
			off += int64(n)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil
		}
		if err != nil {
			return toStatus(err)
		}
	}
}

// List lists releases, a page at a time.
func (s *Server) List(ctx context.Context, req *hubv1.ListRequest) (*hubv1.ListResponse, error) {
	q, err := listQuery(req)
	if err != nil {
		return nil, toStatus(err)
	}
	p, err := s.h.ListReleases(ctx, q)
	if err != nil {
		return nil, toStatus(err)
	}
	return listResponse(p), nil
}

// Merge runs a recipe.
func (s *Server) Merge(ctx context.Context, req *hubv1.MergeRequest) (*hubv1.MergeResponse, error) {
	r, err := s.h.Merge(ctx, []byte(req.GetRecipe()))
	if err != nil {
		return nil, toStatus(err)
	}
	return &hubv1.MergeResponse{Release: wire.Release(r)}, nil
}

// StartMerge queues a recipe as a merge job.
func (s *Server) StartMerge(ctx context.Context, req *hubv1.StartMergeRequest) (*hubv1.StartMergeResponse, error) {
	j, err := s.h.StartMerge(ctx, []byte(req.GetRecipe()))
	if err != nil {
		return nil, toStatus(err)
	}
	return &hubv1.StartMergeResponse{Job: wire.MergeJob(j)}, nil
}

// GetMergeJob reports a merge job.
func (s *Server) GetMergeJob(ctx context.Context, req *hubv1.GetMergeJobRequest) (*hubv1.GetMergeJobResponse, error) {
	j, err := s.h.MergeJob(ctx, req.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &hubv1.GetMergeJobResponse{Job: wire.MergeJob(j)}, nil
}

// CancelMergeJob stops a merge job.
func (s *Server) CancelMergeJob(ctx context.Context, req *hubv1.CancelMergeJobRequest) (*hubv1.CancelMergeJobResponse, error) {
	j, err := s.h.CancelMergeJob(ctx, req.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &hubv1.CancelMergeJobResponse{Job: wire.MergeJob(j)}, nil
}

// GetRelease describes a release, with the releases built on it and its
// attestations (see Hub.ReleaseDetail).
func (s *Server) GetRelease(ctx context.Context, req *hubv1.GetReleaseRequest) (*hubv1.GetReleaseResponse, error) {
	d, err := s.h.ReleaseDetail(ctx, req.GetCid())
	if err != nil {
		return nil, toStatus(err)
	}
	return wire.ReleaseDetail(d), nil
}

// Unpin drops a release (operators only: see the interceptor).
func (s *Server) Unpin(ctx context.Context, req *hubv1.UnpinRequest) (*hubv1.UnpinResponse, error) {
	if err := s.h.Unpin(ctx, req.GetCid()); err != nil {
		return nil, toStatus(err)
	}
	return &hubv1.UnpinResponse{}, nil
}

// toStatus maps domain errors to gRPC codes, in this one place.
func toStatus(err error) error {
	if _, ok := status.FromError(err); ok {
		return err
	}
	code := codes.Internal
	switch {
	case errors.Is(err, ErrOutOfOrder):
		code = codes.Aborted
	case errors.Is(err, ErrIncomplete):
		code = codes.FailedPrecondition
	case errors.Is(err, ErrCancelled), errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	case errors.Is(err, errClosing):
		code = codes.Unavailable
	case errors.Is(err, store.ErrUnavailable):
		code = codes.Unavailable
	case errors.Is(err, store.ErrCorrupt), errors.Is(err, ErrDamaged):
		code = codes.DataLoss
	case errors.Is(err, store.ErrPinned), errors.Is(err, ErrMembers):
		code = codes.FailedPrecondition
	case errors.Is(err, ErrAlreadyYanked):
		code = codes.AlreadyExists
	case errors.Is(err, ErrLimit):
		code = codes.ResourceExhausted
	case errors.Is(err, ErrUnauthenticated):
		code = codes.Unauthenticated
	case errors.Is(err, signing.ErrUntrusted), errors.Is(err, signing.ErrBadSignature), errors.Is(err, ErrKeyInvalid),
		errors.Is(err, ErrForbidden):
		code = codes.PermissionDenied
	case errors.Is(err, ErrRejected), errors.Is(err, signing.ErrDigestMismatch), errors.Is(err, signing.ErrMalformed),
		errors.Is(err, merge.ErrRecipe), errors.Is(err, merge.ErrIncompatible), errors.Is(err, merge.ErrOverflow), errors.Is(err, safetensors.ErrInvalid),
		errors.Is(err, potluck.ErrManifest), errors.Is(err, store.ErrInvalid), errors.Is(err, ErrBadRequest):
		// Before NotFound: a delta for an unknown base is a bad request.
		code = codes.InvalidArgument
	case errors.Is(err, ErrNotFound), errors.Is(err, store.ErrNotFound):
		code = codes.NotFound
	case errors.Is(err, translog.ErrNotFound): // an index or tree size past the log's end
		code = codes.OutOfRange
	}
	st := status.New(code, err.Error())
	var rej *RejectedError
	if errors.As(err, &rej) {
		if d, derr := st.WithDetails(wire.Verdict(rej.Verdict)); derr == nil {
			st = d
		}
	}
	return st.Err()
}

func errorsIsNotFound(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, store.ErrNotFound)
}
