package grpcserver

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/services/capture/internal/backoff"
	"github.com/camstream/camstream/services/capture/internal/camera"
	"github.com/camstream/camstream/services/capture/internal/config"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const wait = 20 * time.Second // generous: the machine may be busy

func logger() *slog.Logger { return slog.New(slog.NewJSONHandler(io.Discard, nil)) }

func cam(t testing.TB, id, src string, mod func(*config.Camera)) config.Camera {
	t.Helper()
	s, err := config.ParseSource(src)
	if err != nil {
		t.Fatal(err)
	}
	c := config.Camera{ID: id, Name: "Camera " + id, Source: s, FPS: 50, Width: 320, Quality: 80, IdleTimeout: time.Second}
	if mod != nil {
		mod(&c)
	}
	return c
}

// fixture is a capture server on an in-memory connection.
type fixture struct {
	client camstreamv1.CaptureServiceClient
	health healthpb.HealthClient
	srv    *Server
	grpc   *grpc.Server
	cams   *camera.Set
}

func start(t testing.TB, cfgs []config.Camera, opts camera.Options) *fixture {
	t.Helper()
	opts.Logger = logger()
	if opts.NewBackoff == nil {
		opts.NewBackoff = func() *backoff.Backoff {
			return &backoff.Backoff{Min: 20 * time.Millisecond, Max: 100 * time.Millisecond}
		}
	}
	cams := camera.NewSet(cfgs, opts)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { cams.Run(ctx) })

	srv := New(cams, logger())
	g := srv.NewGRPCServer()
	lis := bufconn.Listen(1 << 20)
	wg.Go(func() { _ = g.Serve(lis) })
	conn, err := grpc.NewClient("passthrough:///capture",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		srv.Shutdown(g, 5*time.Second)
		cancel()
		wg.Wait()
	})
	return &fixture{
		client: camstreamv1.NewCaptureServiceClient(conn),
		health: healthpb.NewHealthClient(conn),
		srv:    srv, grpc: g, cams: cams,
	}
}

func (f *fixture) waitState(t testing.TB, id string, want camstreamv1.CameraState) *camstreamv1.Camera {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		resp, err := f.client.ListCameras(context.Background(), &camstreamv1.ListCamerasRequest{})
		if err != nil {
			t.Fatalf("ListCameras: %v", err)
		}
		for _, c := range resp.Cameras {
			if c.Id == id && c.State == want {
				return c
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("camera %s never reached %v: %v", id, want, resp.Cameras)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const secret = "hunter2"

func standardCameras(t testing.TB) []config.Camera {
	return []config.Camera{
		cam(t, "ball", "test://ball", nil),
		cam(t, "bars", "test://smpte", func(c *config.Camera) { c.Width = 0; c.FPS = 10 }),
		cam(t, "lazy", "test://ball", func(c *config.Camera) { c.OnDemand = true }),
		// Nothing listens on port 1: this camera fails at once.
		cam(t, "broken", "rtsp://admin:"+secret+"@127.0.0.1:1/stream", nil),
	}
}

func TestListCameras(t *testing.T) {
	f := start(t, standardCameras(t), camera.Options{})
	ball := f.waitState(t, "ball", camstreamv1.CameraState_CAMERA_STATE_STREAMING)
	if ball.Name != "Camera ball" || ball.Width != 320 || ball.Height != 180 || ball.MaxFps != 50 || ball.Source != "test://ball" {
		t.Errorf("ball = %v, want name 'Camera ball', 320x180, max_fps 50, source test://ball", ball)
	}
	if ball.LastFrameTime == nil {
		t.Error("ball has no last_frame_time while streaming")
	}
	broken := f.waitState(t, "broken", camstreamv1.CameraState_CAMERA_STATE_FAILED)
	if broken.LastError == "" || broken.Source != "rtsp://***@127.0.0.1:1/stream" {
		t.Errorf("broken = %v, want a last error and the source redacted", broken)
	}
	lazy := f.waitState(t, "lazy", camstreamv1.CameraState_CAMERA_STATE_IDLE)
	if !lazy.OnDemand {
		t.Errorf("lazy.on_demand = false, want true")
	}
	resp, err := f.client.ListCameras(context.Background(), &camstreamv1.ListCamerasRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range resp.Cameras {
		ids = append(ids, c.Id)
	}
	if got, want := strings.Join(ids, ","), "ball,bars,lazy,broken"; got != want {
		t.Errorf("camera ids = %s, want %s (configuration order)", got, want)
	}
	if strings.Contains(resp.String(), secret) || strings.Contains(resp.String(), "admin") {
		t.Errorf("ListCameras response contains the credentials: %v", resp)
	}
}

// streamBall starts the standard cameras and opens StreamFrames of "ball"
// once it streams; cancel ends the stream.
func streamBall(t *testing.T) (*fixture, camstreamv1.CaptureService_StreamFramesClient, context.CancelFunc) {
	t.Helper()
	f := start(t, standardCameras(t), camera.Options{})
	f.waitState(t, "ball", camstreamv1.CameraState_CAMERA_STATE_STREAMING)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	stream, err := f.client.StreamFrames(ctx, &camstreamv1.StreamFramesRequest{CameraId: "ball"})
	if err != nil {
		t.Fatal(err)
	}
	return f, stream, cancel
}

func TestStreamFrames(t *testing.T) {
	f, stream, cancel := streamBall(t)
	var last uint64
	for i := range 20 {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		fr := resp.GetFrame()
		if fr.CameraId != "ball" || fr.Width != 320 || fr.Height != 180 || fr.CapturedAt == nil {
			t.Fatalf("frame %d = id %q %dx%d at %v, want ball 320x180 with a capture time", i, fr.CameraId, fr.Width, fr.Height, fr.CapturedAt)
		}
		if len(fr.Jpeg) < 100 || fr.Jpeg[0] != 0xff || fr.Jpeg[1] != 0xd8 {
			t.Fatalf("frame %d is not a JPEG (%d bytes)", i, len(fr.Jpeg))
		}
		if fr.Seq <= last {
			t.Fatalf("frame %d seq %d after %d, want increasing", i, fr.Seq, last)
		}
		last = fr.Seq
	}
	ball := f.waitState(t, "ball", camstreamv1.CameraState_CAMERA_STATE_STREAMING)
	if ball.Subscribers != 1 {
		t.Errorf("subscribers while one stream is open = %d, want 1", ball.Subscribers)
	}
	cancel()
	deadline := time.Now().Add(wait)
	for {
		c, _ := f.cams.Get("ball")
		if c.Status().Subscribers == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("subscriber count did not drop to 0 after the stream ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Every subscriber gets the same frames, serialized once.
func TestManySubscribersShareFrames(t *testing.T) {
	f := start(t, standardCameras(t), camera.Options{})
	f.waitState(t, "ball", camstreamv1.CameraState_CAMERA_STATE_STREAMING)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	const subs = 20
	seqs := make([]map[uint64][]byte, subs)
	var wg sync.WaitGroup
	for i := range subs {
		wg.Go(func() {
			stream, err := f.client.StreamFrames(ctx, &camstreamv1.StreamFramesRequest{CameraId: "ball"})
			if err != nil {
				t.Error(err)
				return
			}
			seqs[i] = map[uint64][]byte{}
			for range 15 {
				resp, err := stream.Recv()
				if err != nil {
					t.Errorf("subscriber %d: %v", i, err)
					return
				}
				seqs[i][resp.Frame.Seq] = resp.Frame.Jpeg
			}
		})
	}
	wg.Wait()
	// Any frame two subscribers both got must be byte for byte the same.
	for seq, jpeg := range seqs[0] {
		for i := 1; i < subs; i++ {
			if other, ok := seqs[i][seq]; ok && string(other) != string(jpeg) {
				t.Fatalf("frame %d differs between subscribers 0 and %d", seq, i)
			}
		}
	}
}

func TestStreamFramesMaxFPS(t *testing.T) {
	f := start(t, standardCameras(t), camera.Options{})
	f.waitState(t, "ball", camstreamv1.CameraState_CAMERA_STATE_STREAMING)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	stream, err := f.client.StreamFrames(ctx, &camstreamv1.StreamFramesRequest{CameraId: "ball", MaxFps: 5})
	if err != nil {
		t.Fatal(err)
	}
	var first, last time.Time
	for i := range 6 {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = resp.Frame.CapturedAt.AsTime()
		}
		last = resp.Frame.CapturedAt.AsTime()
	}
	// 6 frames at 5 fps span 1 s (less the pacer's quarter-frame tolerance);
	// the camera makes 50 fps.
	if d := last.Sub(first); d < 750*time.Millisecond {
		t.Errorf("6 frames at max_fps 5 span %v of capture time, want about 1s", d)
	}
}

func TestErrors(t *testing.T) {
	f := start(t, standardCameras(t), camera.Options{})
	ctx := context.Background()
	streamErr := func(req *camstreamv1.StreamFramesRequest) error {
		stream, err := f.client.StreamFrames(ctx, req)
		if err != nil {
			return err
		}
		_, err = stream.Recv()
		return err
	}
	snapshotErr := func(req *camstreamv1.GetSnapshotRequest) error {
		_, err := f.client.GetSnapshot(ctx, req)
		return err
	}
	tests := []struct {
		name string
		err  error
		want codes.Code
	}{
		{"stream unknown camera", streamErr(&camstreamv1.StreamFramesRequest{CameraId: "nope"}), codes.NotFound},
		{"stream empty id", streamErr(&camstreamv1.StreamFramesRequest{}), codes.InvalidArgument},
		{"stream negative max_fps", streamErr(&camstreamv1.StreamFramesRequest{CameraId: "ball", MaxFps: -1}), codes.InvalidArgument},
		{"stream NaN max_fps", streamErr(&camstreamv1.StreamFramesRequest{CameraId: "ball", MaxFps: math.NaN()}), codes.InvalidArgument},
		{"snapshot unknown camera", snapshotErr(&camstreamv1.GetSnapshotRequest{CameraId: "nope"}), codes.NotFound},
		{"snapshot empty id", snapshotErr(&camstreamv1.GetSnapshotRequest{}), codes.InvalidArgument},
	}
	for _, tt := range tests {
		if got := status.Code(tt.err); got != tt.want {
			t.Errorf("%s: code %v (%v), want %v", tt.name, got, tt.err, tt.want)
		}
	}
}

func TestGetSnapshot(t *testing.T) {
	f := start(t, standardCameras(t), camera.Options{})
	f.waitState(t, "ball", camstreamv1.CameraState_CAMERA_STATE_STREAMING)
	f.waitState(t, "lazy", camstreamv1.CameraState_CAMERA_STATE_IDLE)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for _, id := range []string{"ball", "lazy"} {
		resp, err := f.client.GetSnapshot(ctx, &camstreamv1.GetSnapshotRequest{CameraId: id})
		if err != nil {
			t.Fatalf("GetSnapshot(%s): %v", id, err)
		}
		if fr := resp.Frame; fr.CameraId != id || len(fr.Jpeg) == 0 || fr.Width != 320 {
			t.Errorf("GetSnapshot(%s) = %s %d bytes %dx%d, want a 320-wide JPEG of %s", id, fr.CameraId, len(fr.Jpeg), fr.Width, fr.Height, id)
		}
	}
	// The snapshot opened the on-demand camera; it stays open idle_timeout.
	f.waitState(t, "lazy", camstreamv1.CameraState_CAMERA_STATE_STREAMING)

	f.waitState(t, "broken", camstreamv1.CameraState_CAMERA_STATE_FAILED)
	_, err := f.client.GetSnapshot(ctx, &camstreamv1.GetSnapshotRequest{CameraId: "broken"})
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), `camera "broken" has no frame (state failed): open rtsp://***@127.0.0.1:1/stream`) {
		t.Errorf("GetSnapshot(broken) = %v, want UNAVAILABLE naming the camera, its state and last error", err)
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("GetSnapshot error contains the password: %v", err)
	}
}

func TestHealth(t *testing.T) {
	f := start(t, standardCameras(t), camera.Options{})
	f.waitState(t, "ball", camstreamv1.CameraState_CAMERA_STATE_STREAMING)
	f.waitState(t, "broken", camstreamv1.CameraState_CAMERA_STATE_FAILED)
	f.waitState(t, "lazy", camstreamv1.CameraState_CAMERA_STATE_IDLE)
	tests := []struct {
		service string
		want    healthpb.HealthCheckResponse_ServingStatus
	}{
		{"", healthpb.HealthCheckResponse_SERVING},
		{"ball", healthpb.HealthCheckResponse_SERVING},
		{"lazy", healthpb.HealthCheckResponse_SERVING},
		{"broken", healthpb.HealthCheckResponse_NOT_SERVING},
	}
	for _, tt := range tests {
		resp, err := f.health.Check(context.Background(), &healthpb.HealthCheckRequest{Service: tt.service})
		if err != nil || resp.Status != tt.want {
			t.Errorf("health of %q = %v, %v; want %v", tt.service, resp.GetStatus(), err, tt.want)
		}
	}
	if _, err := f.health.Check(context.Background(), &healthpb.HealthCheckRequest{Service: "nope"}); status.Code(err) != codes.NotFound {
		t.Errorf("health of unknown camera: %v, want NOT_FOUND", err)
	}
}

func TestShutdownEndsStreams(t *testing.T) {
	f, stream, _ := streamBall(t)
	_, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.srv.Shutdown(f.grpc, wait)
	}()
	for {
		if _, err = stream.Recv(); err != nil {
			break
		}
	}
	if status.Code(err) != codes.Unavailable {
		t.Errorf("stream ended with %v, want UNAVAILABLE", err)
	}
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("Shutdown did not return")
	}
}

func TestCodecPassesEncodedFramesThrough(t *testing.T) {
	c := newCodec()
	want := []byte{1, 2, 3}
	got, err := c.Marshal(&encodedFrame{data: memSlice(want)})
	if err != nil || string(got.Materialize()) != string(want) {
		t.Errorf("Marshal(encoded) = %v, %v; want the bytes as they are", got.Materialize(), err)
	}
	wantErr := errors.New("x")
	if _, err := c.Marshal(&encodedFrame{err: wantErr}); !errors.Is(err, wantErr) {
		t.Errorf("Marshal(encoded with error) = %v, want %v", err, wantErr)
	}
	msg := &camstreamv1.ListCamerasResponse{Cameras: []*camstreamv1.Camera{{Id: "a"}}}
	b, err := c.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	var back camstreamv1.ListCamerasResponse
	if err := c.Unmarshal(b, &back); err != nil || len(back.Cameras) != 1 || back.Cameras[0].Id != "a" {
		t.Errorf("proto round trip = %v, %v; want camera a", &back, err)
	}
	if c.Name() != "proto" {
		t.Errorf("codec name = %q, want proto", c.Name())
	}
}

func memSlice(b []byte) mem.BufferSlice { return mem.BufferSlice{mem.SliceBuffer(b)} }
