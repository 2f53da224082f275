package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/test/harness"
	"github.com/camstream/camstream/test/rtspserver"
)

// Camera passwords, working and failing, at debug log level: they appear in
// no log line (capture's, the edge's, OpenCV's or FFmpeg's), no error, no
// metric, no gRPC or API response and no page.
func TestFaultSecretsNeverShow(t *testing.T) {
	const httpPassword = "pwd-Hq27mZ"
	const token = "tok-Vn51pX"
	srv := rtspserver.Start(t, rtspserver.Options{Width: 320, Height: 240, FPS: 10, User: captureUser, Password: capturePassword})
	refused := harness.FreePort(t)
	cfg := captureConfig(t, fmt.Sprintf(`
cameras:
  - id: good
    source: rtsp://${CAM_USER}:${CAM_PASS}@127.0.0.1:%[1]d/stream
  - id: wrongpass
    source: rtsp://${CAM_USER}:%[2]s@127.0.0.1:%[1]d/stream
  - id: wrongpath
    source: rtsp://${CAM_USER}:${CAM_PASS}@127.0.0.1:%[1]d/nope
  - id: down
    source: rtsp://${CAM_USER}:${CAM_PASS}@127.0.0.1:%[3]d/stream
  - id: mjpeg
    source: http://127.0.0.1:%[3]d/mjpg?user=admin&pwd=%[4]s
`, srv.Port(), captureWrongPW, refused, httpPassword))
	c := captureStart(t, []string{"--config", cfg, "--log-level", "debug"}, "CAM_USER="+captureUser, "CAM_PASS="+capturePassword)
	c.waitState(t, "good", captureWait, camstreamv1.CameraState_CAMERA_STATE_STREAMING)
	for _, id := range []string{"wrongpass", "wrongpath", "down", "mjpeg"} {
		c.waitState(t, id, captureWait, camstreamv1.CameraState_CAMERA_STATE_FAILED)
	}
	edge := edgeStartEdge(t, []string{c.grpcAddr}, "--log-level", "debug", "--auth-token", token)
	auth := "?token=" + token

	texts := map[string]string{}
	list, _ := json.Marshal(c.cameras(t))
	texts["ListCameras"] = string(list)
	ctx, cancel := context.WithTimeout(context.Background(), captureWait)
	defer cancel()
	for _, id := range []string{"", "good", "wrongpass", "wrongpath", "down", "mjpeg"} {
		h, err := c.health.Check(ctx, &healthpb.HealthCheckRequest{Service: id})
		texts["health "+id] = fmt.Sprint(h, err)
		if id == "" {
			continue
		}
		snap, err := c.client.GetSnapshot(ctx, &camstreamv1.GetSnapshotRequest{CameraId: id})
		texts["GetSnapshot "+id] = fmt.Sprint(snap.GetFrame().GetCameraId(), err)
		stream, err := c.client.StreamFrames(ctx, &camstreamv1.StreamFramesRequest{CameraId: id})
		if err == nil && id != "good" {
			// A failed camera's stream waits for frames; its error shows
			// in ListCameras, taken above.
			stream = nil
		}
		texts["StreamFrames "+id] = fmt.Sprint(err)
		_ = stream
	}
	texts["capture /metrics"] = c.get(t, "/metrics")
	for _, path := range []string{"/", "/grid", "/api/cameras", "/metrics", "/readyz",
		"/cameras/good", "/cameras/wrongpass", "/cameras/down", "/cameras/mjpeg",
		"/cameras/wrongpass/snapshot.jpg", "/cameras/down/snapshot.jpg", "/cameras/mjpeg/snapshot.jpg", "/cameras/nope"} {
		sep := auth
		if strings.Contains(path, "?") {
			sep = "&token=" + token
		}
		_, body := edgeGet(t, edge.url+path+sep)
		texts["edge "+path] = body
	}
	s := edgeOpenStream(t, edge.url+"/cameras/good/stream.mjpeg"+auth)
	s.next(t, 30*time.Second)
	s.close()
	time.Sleep(time.Second) // let the logs of the requests above land
	texts["capture's output (logs, OpenCV, FFmpeg)"] = c.Output()
	texts["edge's output"] = edge.Output()

	for _, secret := range []string{capturePassword, captureWrongPW, httpPassword} {
		captureNoSecret(t, secret, texts)
	}
	// The texts were really collected: the sources show, redacted.
	if out := c.Output(); !strings.Contains(out, "rtsp://***@127.0.0.1") {
		t.Errorf("capture's output never names a source redacted:\n%s", out)
	}
	if out := edge.Output(); !strings.Contains(out, `"level":"DEBUG"`) {
		t.Errorf("edge's output has no debug lines:\n%s", out)
	}
	if strings.Contains(edge.Output(), token) {
		t.Errorf("edge's log shows the viewing token")
	}
	for _, want := range []string{"rtsp://***@127.0.0.1", "pwd=***"} {
		if !strings.Contains(texts["ListCameras"], want) {
			t.Errorf("ListCameras lacks the redacted source %q: %s", want, texts["ListCameras"])
		}
	}
}

// Pages, errors, static files and streams send the security headers.
func TestFaultSecurityHeaders(t *testing.T) {
	capture := edgeStartCapture(t, nil)
	edge := edgeStartEdge(t, []string{capture.grpcAddr})
	want := map[string]string{
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
		"Referrer-Policy":        "no-referrer",
	}
	_, page := edgeGet(t, edge.url+"/")
	static := ""
	if i := strings.Index(page, "/static/"); i >= 0 {
		static = page[i:]
		static = static[:strings.IndexAny(static, `"'`)]
	}
	if static == "" {
		t.Fatalf("the list page links no static file:\n%s", page)
	}
	for _, path := range []string{"/", "/grid", "/cameras/test1", "/cameras/nope", "/api/cameras", "/no/such/page",
		strings.ReplaceAll(static, "&amp;", "&"), "/cameras/test1/snapshot.jpg"} {
		client := &http.Client{Timeout: 10 * time.Second}
		resp, err := client.Get(edge.url + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		for h, v := range want {
			if got := resp.Header.Get(h); got != v {
				t.Errorf("GET %s: %s = %q, want %q", path, h, got, v)
			}
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("GET %s: Content-Security-Policy %q, want default-src 'none' and frame-ancestors 'none'", path, csp)
		}
	}
	s := edgeOpenStream(t, edge.url+"/cameras/test1/stream.mjpeg")
	if got := s.resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("stream: X-Content-Type-Options = %q, want nosniff", got)
	}
}
