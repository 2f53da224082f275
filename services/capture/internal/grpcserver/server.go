// Package grpcserver serves a capture process's cameras over gRPC:
// CaptureService (ListCameras, StreamFrames, GetSnapshot), the standard
// health service (overall and one entry per camera) and server reflection.
package grpcserver

import (
	"context"
	"log/slog"
	"math"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/services/capture/internal/camera"
	"github.com/camstream/camstream/services/capture/internal/pace"
)

// DefaultSnapshotTimeout bounds how long GetSnapshot waits for a frame from
// a camera that is not streaming yet, when the call has no earlier deadline.
const DefaultSnapshotTimeout = 10 * time.Second

// Server implements CaptureService over a set of cameras.
type Server struct {
	camstreamv1.UnimplementedCaptureServiceServer

	cams            *camera.Set
	log             *slog.Logger
	health          *healthServer
	snapshotTimeout time.Duration
	wire            wireCaches

	stopCtx context.Context // ends at Shutdown: open calls end
	stop    context.CancelFunc
}

// New returns a server for cams and keeps the health service in step with
// their states.
func New(cams *camera.Set, log *slog.Logger) *Server {
	s := &Server{
		cams:            cams,
		log:             log,
		health:          newHealthServer(),
		snapshotTimeout: DefaultSnapshotTimeout,
	}
	s.stopCtx, s.stop = context.WithCancel(context.Background())
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	for _, c := range cams.List() {
		s.setHealth(c.ID(), c.State())
	}
	cams.OnStateChange(s.setHealth)
	cams.OnRemove(s.health.remove)
	return s
}

func (s *Server) setHealth(id string, st camera.State) {
	status := healthpb.HealthCheckResponse_NOT_SERVING
	if st.Healthy() {
		status = healthpb.HealthCheckResponse_SERVING
	}
	s.health.set(id, status)
}

// NewGRPCServer returns a gRPC server with CaptureService, health and
// reflection registered and the frame pass-through codec installed; extra
// options are appended.
func (s *Server) NewGRPCServer(extra ...grpc.ServerOption) *grpc.Server {
	opts := append([]grpc.ServerOption{
		grpc.ForceServerCodecV2(newCodec()),
		// Drop connections of peers that vanished without closing them
		// (a killed node, a black-holed network), so their subscriptions
		// end: a ping after 10 s without a word from the peer, unanswered
		// for 5 s, closes the connection, within 15 s of the silence.
		// Allow clients' own keepalive pings.
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 10 * time.Second, Timeout: 5 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
	}, extra...)
	g := grpc.NewServer(opts...)
	camstreamv1.RegisterCaptureServiceServer(g, s)
	healthpb.RegisterHealthServer(g, s.health)
	reflection.Register(g)
	return g
}

// NewHealthServer returns a gRPC server with only the health service, for
// a plaintext probe port next to a TLS gRPC port.
func (s *Server) NewHealthServer() *grpc.Server {
	g := grpc.NewServer()
	healthpb.RegisterHealthServer(g, s.health)
	return g
}

// Shutdown marks every service NOT_SERVING, ends open streams and stops g,
// waiting up to timeout for calls in flight.
func (s *Server) Shutdown(g *grpc.Server, timeout time.Duration) {
	s.health.Shutdown()
	s.stop()
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.GracefulStop()
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		g.Stop()
		<-done
	}
}

// ListCameras returns every camera of this process.
func (s *Server) ListCameras(context.Context, *camstreamv1.ListCamerasRequest) (*camstreamv1.ListCamerasResponse, error) {
	resp := &camstreamv1.ListCamerasResponse{}
	for _, st := range s.cams.Statuses() {
		resp.Cameras = append(resp.Cameras, cameraProto(st))
	}
	return resp, nil
}

// StreamFrames sends the camera's newest frames until the client leaves,
// the server shuts down or a reload removes the camera (NOT_FOUND). A
// client that reads slowly gets the newest frame each time it is ready for
// one. A reload that changes the camera's settings does not end the call:
// the frames of the new settings follow.
func (s *Server) StreamFrames(req *camstreamv1.StreamFramesRequest, stream grpc.ServerStreamingServer[camstreamv1.StreamFramesResponse]) error {
	cam, err := s.camera(req.GetCameraId())
	if err != nil {
		return err
	}
	maxFPS := req.GetMaxFps()
	if maxFPS < 0 || math.IsNaN(maxFPS) || math.IsInf(maxFPS, 0) {
		return status.Errorf(codes.InvalidArgument, "max_fps: %v is not a frame rate (want >= 0, 0 = every frame)", maxFPS)
	}
	feed, release, err := cam.SubscribeWidth(int(req.GetWidth()))
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "width: %v", err)
	}
	defer release()
	ctx, cancel := s.callContext(stream.Context(), cam)
	defer cancel()

	wire, releaseWire := s.wire.acquire(cam.ID(), feed.Width)
	defer releaseWire()
	pacer := pace.New(maxFPS)
	var last uint64
	f, fresh := feed.Latest() // a streaming camera's current frame goes out at once
	if !fresh && f != nil {
		last, f = f.Seq, nil
	}
	for {
		if f == nil {
			if f, err = feed.Next(ctx, last); err != nil {
				return s.endErr(stream.Context(), cam)
			}
		}
		last = f.Seq
		if pacer.Allow(f.CapturedAt) {
			if err := stream.SendMsg(wire.get(f)); err != nil {
				return err
			}
		}
		f = nil
	}
}

func (s *Server) camera(id string) (*camera.Camera, error) {
	if id == "" {
		return nil, status.Error(codes.InvalidArgument, "camera_id is required")
	}
	cam, ok := s.cams.Get(id)
	if !ok {
		return nil, status.Errorf(codes.NotFound, "camera %q not found", id)
	}
	return cam, nil
}

// callContext returns a context that also ends when the server shuts down
// or a reload removes cam.
func (s *Server) callContext(parent context.Context, cam *camera.Camera) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	stop := context.AfterFunc(s.stopCtx, cancel)
	stopRemoved := context.AfterFunc(cam.Life(), cancel)
	return ctx, func() {
		stop()
		stopRemoved()
		cancel()
	}
}

// endErr is the status a call on cam ends with when its wait was
// interrupted.
func (s *Server) endErr(callCtx context.Context, cam *camera.Camera) error {
	switch {
	case callCtx.Err() != nil:
		return status.FromContextError(callCtx.Err()).Err()
	case cam.Removed():
		return status.Errorf(codes.NotFound, "camera %q was removed from the camera file", cam.ID())
	}
	return status.Error(codes.Unavailable, "capture is shutting down")
}
