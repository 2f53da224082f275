package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
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
// Motion JPEG camera whose frames it passes through, against the same
// camera with a quality set, so decoded and re-encoded. Two capture
// processes read the camera side by side, each with one gRPC viewer, and
// are measured over the same window, so a busy moment of the machine
// weighs on both. pass/encode is the figure. Two cameras: RTSP in MJPEG
// mode (GStreamer's SMPTE bars, about 8 KB a frame) and HTTP MJPEG
// (ffmpeg serving FFmpeg's testsrc2 pattern, about 45 KB a frame, one
// server for each capture: it serves one client).
func BenchmarkPassThroughCaptureCPU(b *testing.B) {
	b.Run("source=rtsp-jpeg", func(b *testing.B) {
		cam := rtspserver.Start(b, rtspserver.Options{JPEG: true, Width: 800, Height: 600, FPS: 15, Pattern: "smpte"})
		passVsEncode(b, cam.URL("/stream"), cam.URL("/stream"))
	})
	b.Run("source=http-mjpeg", func(b *testing.B) {
		ffmpeg, err := exec.LookPath("ffmpeg")
		if err != nil {
			b.Skip("ffmpeg is not installed: run 'make deps'")
		}
		frames := mjpegFrames(b, ffmpeg)
		passVsEncode(b, serveMJPEG(b, ffmpeg, frames), serveMJPEG(b, ffmpeg, frames))
	})
}

// passVsEncode measures a capture passing passSrc through against one
// re-encoding encodeSrc (the same camera), side by side.
func passVsEncode(b *testing.B, passSrc, encodeSrc string) {
	pass := startJPEGCapture(b, passSrc, "", true)
	encode := startJPEGCapture(b, encodeSrc, "    quality: 80\n", false)
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

// mjpegFrames makes 30 JPEG frames of 800×600 with ffmpeg and returns the
// file pattern.
func mjpegFrames(b *testing.B, ffmpeg string) string {
	pattern := filepath.Join(b.TempDir(), "f%03d.jpg")
	out, err := exec.Command(ffmpeg, "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=800x600:rate=15",
		"-frames:v", "30", "-q:v", "5", pattern).CombinedOutput()
	if err != nil {
		b.Fatalf("make frames: %v\n%s", err, out)
	}
	return pattern
}

// serveMJPEG serves the frames in a loop at 15 fps as an HTTP MJPEG camera
// (copied, not re-encoded) for one client and returns its URL.
func serveMJPEG(b *testing.B, ffmpeg, frames string) string {
	url := fmt.Sprintf("http://127.0.0.1:%d/video.mjpg", harness.FreePort(b))
	harness.Start(b, ffmpeg, []string{"-loglevel", "error", "-re", "-stream_loop", "-1", "-framerate", "15",
		"-i", frames, "-c", "copy", "-f", "mpjpeg", "-listen", "1", url})
	return url
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
