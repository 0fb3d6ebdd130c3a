package hub

import (
	"context"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
)

// The gRPC side of access control: the interceptors find the caller (a
// bearer token in "authorization" metadata, else a verified client
// certificate), let Hub.Authorize decide, and record metrics and a log line
// for every call. Health and reflection are open to all.

// callClass is what each HubService method needs; unlisted methods of the
// service are writes, so a new RPC is never public by accident.
var callClass = map[string]int{
	hubv1.HubService_GetInfo_FullMethodName:             CallRead,
	hubv1.HubService_Get_FullMethodName:                 CallRead,
	hubv1.HubService_List_FullMethodName:                CallRead,
	hubv1.HubService_GetRelease_FullMethodName:          CallRead,
	hubv1.HubService_GetCheckpoint_FullMethodName:       CallRead,
	hubv1.HubService_GetEntries_FullMethodName:          CallRead,
	hubv1.HubService_GetInclusionProof_FullMethodName:   CallRead,
	hubv1.HubService_GetConsistencyProof_FullMethodName: CallRead,
	hubv1.HubService_GetMergeJob_FullMethodName:         CallRead,
	hubv1.HubService_GetLineage_FullMethodName:          CallRead,
	hubv1.HubService_ListAttestations_FullMethodName:    CallRead,
	hubv1.HubService_Unpin_FullMethodName:               CallOperator,
	hubv1.HubService_ReloadMembers_FullMethodName:       CallOperator,
}

func classOf(method string) (int, bool) {
	if !strings.HasPrefix(method, "/"+hubv1.HubService_ServiceDesc.ServiceName+"/") {
		return 0, false
	}
	c, ok := callClass[method]
	if !ok {
		c = CallWrite
	}
	return c, true
}

// authenticate finds the caller and authorizes the call. The context it
// returns carries the caller it found even when the call is denied, so
// that the denial's log line names the org.
func (h *Hub) authenticate(ctx context.Context, method string) (context.Context, error) {
	class, ours := classOf(method)
	if !ours {
		return ctx, nil
	}
	if err := h.requireClientCert(ctx); err != nil {
		return ctx, toStatus(err)
	}
	var c *Caller
	if md, ok := metadata.FromIncomingContext(ctx); ok && len(md.Get("authorization")) > 0 {
		tok, ok := strings.CutPrefix(md.Get("authorization")[0], "Bearer ")
		if !ok {
			return ctx, toStatus(ErrUnauthenticated)
		}
		var err error
		if c, err = h.TokenCaller(tok); err != nil {
			return ctx, toStatus(err)
		}
	} else if p, ok := peer.FromContext(ctx); ok {
		if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(ti.State.VerifiedChains) > 0 {
			c, _ = h.CertCaller(ti.State.VerifiedChains[0][0].Subject.CommonName)
		}
	}
	actx, err := h.Authorize(ctx, class, c)
	if err != nil {
		if c != nil {
			ctx = context.WithValue(ctx, callerKey{}, c)
		}
		return ctx, toStatus(err)
	}
	return actx, nil
}

// requireClientCert: with mutual TLS (Options.TLS.ClientCAFile), every
// call comes with a client certificate the consortium CA issued.
func (h *Hub) requireClientCert(ctx context.Context) error {
	if h.tls == nil || h.tls.Config.ClientCAs == nil {
		return nil
	}
	if p, ok := peer.FromContext(ctx); ok {
		if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(ti.State.VerifiedChains) > 0 {
			return nil
		}
	}
	return fmt.Errorf("%w: a client certificate is required: this hub serves gRPC with mutual TLS (hub serve --client-ca); dial with the certificate and key the consortium CA issued your org (potluck --client-cert, --client-key)", ErrUnauthenticated)
}

func (h *Hub) unaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	ctx, err := h.authenticate(ctx, info.FullMethod)
	var resp any
	if err == nil {
		resp, err = handler(ctx, req)
	}
	h.observe(ctx, info.FullMethod, start, err)
	return resp, err
}

func (h *Hub) streamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	start := time.Now()
	ctx, err := h.authenticate(ss.Context(), info.FullMethod)
	if err == nil {
		err = handler(srv, &callerStream{ServerStream: ss, ctx: ctx})
	}
	h.observe(ctx, info.FullMethod, start, err)
	return err
}

// callerStream carries the authenticated caller into a stream's handler.
type callerStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *callerStream) Context() context.Context { return s.ctx }

// observe logs a call and records its duration and outcome.
func (h *Hub) observe(ctx context.Context, method string, start time.Time, err error) {
	code := status.Code(err).String()
	d := time.Since(start)
	h.metrics.rpc(method, code, d)
	org := ""
	if c := CallerFrom(ctx); c != nil {
		org = c.Org
	}
	if err != nil {
		h.logger.Warn("rpc", "method", method, "code", code, "org", org, "duration", d, "error", err)
		return
	}
	h.logger.Debug("rpc", "method", method, "code", code, "org", org, "duration", d)
}
