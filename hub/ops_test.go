package hub_test

import (
	"context"
	"testing"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"

	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
)

// The hub answers the standard gRPC health check and lists its service
// through reflection, which is what grpcurl and load balancers use.
func TestHealthAndReflection(t *testing.T) {
	hs := newHarness(t)
	ctx := context.Background()
	resp, err := healthpb.NewHealthClient(hs.conn).Check(ctx, &healthpb.HealthCheckRequest{Service: hubv1.HubService_ServiceDesc.ServiceName})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v, %v", resp, err)
	}
	stream, err := reflectionpb.NewServerReflectionClient(hs.conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	r, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range r.GetListServicesResponse().GetService() {
		found = found || s.GetName() == "potluck.hub.v1.HubService"
	}
	if !found {
		t.Fatalf("reflection lists %v", r.GetListServicesResponse().GetService())
	}
}
