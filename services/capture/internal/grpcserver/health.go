package grpcserver

import (
	"context"
	"maps"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// healthServer is grpc-go's health server with one thing added: a camera
// that a reload removed has no entry any more. grpc-go's server cannot
// delete an entry, so a removed camera's entry is set to SERVICE_UNKNOWN
// (what Watch sends for a service it does not know) and hidden from Check
// and List, which answer as for a service never set.
type healthServer struct {
	*health.Server

	mu   sync.RWMutex
	gone map[string]bool
}

func newHealthServer() *healthServer {
	return &healthServer{Server: health.NewServer(), gone: make(map[string]bool)}
}

// set sets a camera's status, bringing back an entry that was removed.
func (h *healthServer) set(service string, st healthpb.HealthCheckResponse_ServingStatus) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.gone, service)
	h.SetServingStatus(service, st)
}

// remove removes a camera's entry.
func (h *healthServer) remove(service string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.gone[service] = true
	h.SetServingStatus(service, healthpb.HealthCheckResponse_SERVICE_UNKNOWN)
}

// Check answers NOT_FOUND for a removed camera.
func (h *healthServer) Check(ctx context.Context, in *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	h.mu.RLock()
	gone := h.gone[in.GetService()]
	h.mu.RUnlock()
	if gone {
		return nil, status.Error(codes.NotFound, "unknown service")
	}
	return h.Server.Check(ctx, in)
}

// List leaves out removed cameras.
func (h *healthServer) List(ctx context.Context, in *healthpb.HealthListRequest) (*healthpb.HealthListResponse, error) {
	resp, err := h.Server.List(ctx, in)
	if err != nil {
		return nil, err
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	maps.DeleteFunc(resp.Statuses, func(service string, _ *healthpb.HealthCheckResponse) bool { return h.gone[service] })
	return resp, nil
}
