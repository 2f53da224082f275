package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/test/rtspserver"
)

const (
	captureUser     = "viewer"
	capturePassword = "pw-Zq8x3vR7"
	captureWrongPW  = "wrong-Kd93hT"
)

// captureRTSPConfig is a camera file for an RTSP server on port: the full
// 720p stream, the same resized to 640 wide, and one with a wrong password.
func captureRTSPConfig(port int) string {
	return fmt.Sprintf(`
cameras:
  - id: full
    name: Full size
    source: rtsp://${CAM_USER}:${CAM_PASS}@127.0.0.1:%[1]d/stream
  - id: small
    source: rtsp://${CAM_USER}:${CAM_PASS}@127.0.0.1:%[1]d/stream
    width: 640
    quality: 70
  - id: wrongpass
    source: rtsp://${CAM_USER}:%[2]s@127.0.0.1:%[1]d/stream
`, port, captureWrongPW)
}

// countFrames reads StreamFrames of id for d and returns the frames seen
// and the size of the last.
func countFrames(t *testing.T, c *captureProc, id string, d time.Duration) (n int, w, h int32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), captureWait)
	defer cancel()
	stream, err := c.client.StreamFrames(ctx, &camstreamv1.StreamFramesRequest{CameraId: id})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil { // start counting from a frame
		t.Fatalf("first frame of %s: %v", id, err)
	}
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatalf("frame of %s: %v", id, err)
		}
		n++
		w, h = resp.Frame.Width, resp.Frame.Height
	}
	return n, w, h
}

// TestCaptureRTSP drives bin/capture against a real RTSP server (720p30
// H.264 behind a password): frame rate, sizes, the server going away and
// coming back, and the password never showing anywhere.
func TestCaptureRTSP(t *testing.T) {
	srv := rtspserver.Start(t, rtspserver.Options{User: captureUser, Password: capturePassword})
	cfg := captureConfig(t, captureRTSPConfig(srv.Port()))
	c := captureLaunch(t, []string{"--config", cfg}, "CAM_USER="+captureUser, "CAM_PASS="+capturePassword)

	// Time to first frame from process start: subscribe as soon as the
	// gRPC port answers.
	ctx, cancel := context.WithTimeout(context.Background(), captureWait)
	defer cancel()
	var stream camstreamv1.CaptureService_StreamFramesClient
	var err error
	for {
		stream, err = c.client.StreamFrames(ctx, &camstreamv1.StreamFramesRequest{CameraId: "full"})
		if err == nil {
			if _, err = stream.Recv(); err == nil {
				break
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("no first frame within %v: %v", captureWait, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("measure: time to first frame from process start: %v", time.Since(c.started).Round(time.Millisecond))
	cancel()

	t.Run("frame rate and size", func(t *testing.T) {
		tests := []struct {
			id   string
			w, h int32
		}{
			{"full", 1280, 720},
			{"small", 640, 360},
		}
		for _, tt := range tests {
			c.waitState(t, tt.id, captureWait, camstreamv1.CameraState_CAMERA_STATE_STREAMING)
			const window = 3 * time.Second
			n, w, h := countFrames(t, c, tt.id, window)
			fps := float64(n) / window.Seconds()
			t.Logf("measure: %s: %.1f fps received over %v, %dx%d", tt.id, fps, window, w, h)
			if fps < 20 {
				t.Errorf("%s: %.1f fps from a 30 fps camera, want at least 20", tt.id, fps)
			}
			if w != tt.w || h != tt.h {
				t.Errorf("%s: frames are %dx%d, want %dx%d", tt.id, w, h, tt.w, tt.h)
			}
			cam := c.camera(t, tt.id)
			if cam.Fps < 20 || cam.Width != tt.w || cam.Height != tt.h {
				t.Errorf("%s: ListCameras says %.1f fps %dx%d, want >= 20 fps %dx%d", tt.id, cam.Fps, cam.Width, cam.Height, tt.w, tt.h)
			}
		}
	})

	t.Run("subscribe to a streaming camera", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), captureWait)
		defer cancel()
		start := time.Now()
		stream, err := c.client.StreamFrames(ctx, &camstreamv1.StreamFramesRequest{CameraId: "full"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := stream.Recv(); err != nil {
			t.Fatal(err)
		}
		t.Logf("measure: time to first frame after subscribing to a streaming camera: %v", time.Since(start).Round(time.Microsecond))
	})

	t.Run("wrong password fails", func(t *testing.T) {
		cam := c.waitState(t, "wrongpass", captureWait, camstreamv1.CameraState_CAMERA_STATE_FAILED)
		if cam.LastError == "" || !strings.Contains(cam.Source, "***@127.0.0.1") {
			t.Errorf("wrongpass = %v, want a last error and a redacted source", cam)
		}
		resp, err := c.health.Check(context.Background(), &healthpb.HealthCheckRequest{Service: "wrongpass"})
		if err != nil || resp.Status != healthpb.HealthCheckResponse_NOT_SERVING {
			t.Errorf("health of wrongpass = %v, %v; want NOT_SERVING", resp.GetStatus(), err)
		}
	})

	t.Run("server restart", func(t *testing.T) {
		srv.Stop()
		c.waitState(t, "full", captureWait, camstreamv1.CameraState_CAMERA_STATE_RECONNECTING, camstreamv1.CameraState_CAMERA_STATE_FAILED)
		resp, err := c.health.Check(context.Background(), &healthpb.HealthCheckRequest{Service: "full"})
		if err != nil || resp.Status != healthpb.HealthCheckResponse_NOT_SERVING {
			t.Errorf("health of full while its server is down = %v, %v; want NOT_SERVING", resp.GetStatus(), err)
		}
		time.Sleep(2 * time.Second) // down for a while: a few failed reopen attempts
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		back := time.Now()
		cam := c.waitState(t, "full", captureWait, camstreamv1.CameraState_CAMERA_STATE_STREAMING)
		t.Logf("measure: reconnect time after the RTSP server came back: %v", time.Since(back).Round(time.Millisecond))
		metrics := c.get(t, "/metrics")
		if !strings.Contains(metrics, `camstream_capture_reconnects_total{camera="full"} 1`) {
			t.Errorf("metrics lack one reconnect of full:\n%s", grepLines(metrics, "reconnects_total"))
		}
		if cam.LastError != "" {
			t.Errorf("last error of a streaming camera = %q, want empty", cam.LastError)
		}
		n, _, _ := countFrames(t, c, "full", time.Second)
		if n < 10 {
			t.Errorf("%d frames in a second after reconnecting, want at least 10", n)
		}
	})

	t.Run("stalled camera", func(t *testing.T) {
		// A camera that hangs with its connection open must not hang the
		// loop: FFmpeg's socket timeout (5 s, read retried by OpenCV) ends it.
		srv.Freeze()
		frozen := time.Now()
		c.waitState(t, "full", captureWait, camstreamv1.CameraState_CAMERA_STATE_RECONNECTING, camstreamv1.CameraState_CAMERA_STATE_FAILED)
		t.Logf("measure: a stalled camera was detected after %v", time.Since(frozen).Round(time.Millisecond))
		srv.Thaw()
		c.waitState(t, "full", captureWait, camstreamv1.CameraState_CAMERA_STATE_STREAMING)
	})

	t.Run("password never shows", func(t *testing.T) {
		list, _ := json.Marshal(c.cameras(t))
		var health strings.Builder
		for _, id := range []string{"", "full", "small", "wrongpass"} {
			resp, err := c.health.Check(context.Background(), &healthpb.HealthCheckRequest{Service: id})
			fmt.Fprintf(&health, "%q: %v %v\n", id, resp, err)
		}
		_, snapErr := c.client.GetSnapshot(context.Background(), &camstreamv1.GetSnapshotRequest{CameraId: "wrongpass"})
		texts := map[string]string{
			"capture's output (logs, OpenCV and FFmpeg)": c.Output(),
			"ListCameras":    string(list),
			"health":         health.String(),
			"metrics":        c.get(t, "/metrics"),
			"snapshot error": fmt.Sprint(snapErr),
		}
		captureNoSecret(t, capturePassword, texts)
		captureNoSecret(t, captureWrongPW, texts)
		if !strings.Contains(c.Output(), "rtsp://***@127.0.0.1") {
			t.Errorf("capture's logs never name the source redacted; output:\n%s", c.Output())
		}
	})
}

func grepLines(text, substr string) string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, substr) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
