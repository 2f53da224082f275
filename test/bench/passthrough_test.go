package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/test/harness"
	"github.com/camstream/camstream/test/rtspserver"
)

// BenchmarkPassThroughCaptureCPU: capture's CPU for an 800×600 15 fps
// RTSP camera in MJPEG mode whose frames it passes through, against the
// same camera with a quality set, so decoded and re-encoded. Two capture
// processes read the one camera side by side, each with one gRPC viewer,
// and are measured over the same window, so a busy moment of the machine
// weighs on both. pass/encode is the figure.
func BenchmarkPassThroughCaptureCPU(b *testing.B) {
	cam := rtspserver.Start(b, rtspserver.Options{JPEG: true, Width: 800, Height: 600, FPS: 15, Pattern: "smpte"})
	pass := startJPEGCapture(b, cam.URL("/stream"), "", true)
	encode := startJPEGCapture(b, cam.URL("/stream"), "    quality: 80\n", false)
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		pass.view(ctx, b)
		encode.view(ctx, b)
		time.Sleep(warmup)
		start := time.Now()
		passCPU := cpuOver(b, pass.proc.Pid(), start, start.Add(measured))
		encodeCPU := cpuOver(b, encode.proc.Pid(), start, start.Add(measured))
		p, e := passCPU(), encodeCPU()
		cancel()
		b.ReportMetric(p, "pass-cpu-%")
		b.ReportMetric(e, "encode-cpu-%")
		b.ReportMetric(p/e, "pass/encode")
		b.ReportMetric(loadAverage(), "load-1m")
	}
}

// jpegCapture is a capture process with one camera, "cam".
type jpegCapture struct {
	proc   *harness.Process
	client camstreamv1.CaptureServiceClient
}

// startJPEGCapture starts capture with one camera of source and extra
// settings and waits until it streams, passing through or not as wanted.
func startJPEGCapture(b *testing.B, source, extra string, wantPass bool) *jpegCapture {
	b.Helper()
	path := filepath.Join(b.TempDir(), "cameras.yaml")
	if err := os.WriteFile(path, []byte("cameras:\n  - id: cam\n    source: "+source+"\n"+extra), 0o600); err != nil {
		b.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(b))
	c := &jpegCapture{proc: harness.Start(b, harness.Bin(b, "capture"), []string{
		"--listen", addr, "--http-listen", fmt.Sprintf("127.0.0.1:%d", harness.FreePort(b)),
		"--config", path, "--log-level", "warn"})}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	c.client = camstreamv1.NewCaptureServiceClient(conn)
	var last *camstreamv1.Camera
	harness.WaitFor(b, 30*time.Second, "camera streaming", func() bool {
		resp, err := c.client.ListCameras(context.Background(), &camstreamv1.ListCamerasRequest{})
		if err != nil || len(resp.Cameras) != 1 {
			return false
		}
		last = resp.Cameras[0]
		return last.State == camstreamv1.CameraState_CAMERA_STATE_STREAMING
	})
	if last.GetPassthrough() != wantPass {
		b.Fatalf("camera passthrough = %v, want %v", last.GetPassthrough(), wantPass)
	}
	return c
}

// view reads the camera's frames until ctx ends, as one viewer.
func (c *jpegCapture) view(ctx context.Context, b *testing.B) {
	stream, err := c.client.StreamFrames(ctx, &camstreamv1.StreamFramesRequest{CameraId: "cam"})
	if err != nil {
		b.Fatal(err)
	}
	go func() {
		for {
			if _, err := stream.Recv(); err != nil {
				return
			}
		}
	}()
}
