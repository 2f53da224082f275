package e2e

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/test/harness"
	"github.com/camstream/camstream/test/rtspserver"
)

// subSourceStart starts a real RTSP server serving /main at 1280×720 and
// /sub at 640×360, capture with the on-demand camera "door" on both, and
// an edge in front.
func subSourceStart(t *testing.T) (*rtspserver.Server, *captureProc, *edgeProc) {
	t.Helper()
	rtsp := rtspserver.Start(t, rtspserver.Options{Paths: []string{"/main"}, FPS: 15,
		Sizes: map[string]image.Point{"/sub": {640, 360}}, User: captureUser, Password: capturePassword})
	cfg := captureConfig(t, fmt.Sprintf(`
cameras:
  - id: door
    source: rtsp://${CAM_USER}:${CAM_PASS}@127.0.0.1:%[1]d/main
    sub_source: rtsp://${CAM_USER}:${CAM_PASS}@127.0.0.1:%[1]d/sub
    on_demand: true
    idle_timeout: 2s
`, rtsp.Port()))
	capture := captureStart(t, []string{"--config", cfg}, "CAM_USER="+captureUser, "CAM_PASS="+capturePassword)
	edge := edgeStartEdge(t, []string{capture.grpcAddr}, "--upstream-grace", "500ms")
	return rtsp, capture, edge
}

// An on-demand camera with a sub_source, behind an edge: a real RTSP
// server serves /main at 1280×720 and /sub at 640×360. A viewer at
// ?width=320 gets 320×180 frames made from the sub-stream: the server only
// ever plays /sub, the sub-stream streams at 640×360 and the camera's main
// stream stays idle; capture, /api/status and the camera page say so. When
// the viewer leaves, the sub-stream closes. The password is shown nowhere.
func TestSubSourceServesSmallSizes(t *testing.T) {
	rtsp, capture, edge := subSourceStart(t)
	if sub := capture.camera(t, "door").GetSubStream(); sub.GetState() != camstreamv1.CameraState_CAMERA_STATE_IDLE {
		t.Fatalf("sub_stream before any viewer = %v, want idle", sub)
	}

	viewer := edgeOpenStream(t, edge.url+"/cameras/door/stream.mjpeg?width=320")
	for i := range 10 {
		p := viewer.next(t, captureWait)
		if c, err := jpeg.DecodeConfig(bytes.NewReader(p.JPEG)); err != nil || c.Width != 320 || c.Height != 180 {
			t.Fatalf("frame %d at width 320: %d×%d (%v), want 320×180", i, c.Width, c.Height, err)
		}
	}
	cam := capture.camera(t, "door")
	sub := cam.GetSubStream()
	if sub.GetState() != camstreamv1.CameraState_CAMERA_STATE_STREAMING || sub.GetWidth() != 640 || sub.GetHeight() != 360 {
		t.Errorf("sub_stream while watched at 320 = %v, want streaming 640×360", sub)
	}
	if cam.GetState() != camstreamv1.CameraState_CAMERA_STATE_IDLE {
		t.Errorf("camera state while watched only at 320 = %v, want idle: the main stream is not opened", cam.GetState())
	}
	if log := rtsp.Log(); !strings.Contains(log, "play /sub\n") || strings.Contains(log, "play /main") {
		t.Errorf("RTSP server log = %q, want /sub played and /main never", log)
	}
	// The edge polls ListCameras: the pages follow within a few seconds.
	var status, page string
	harness.WaitFor(t, captureWait, "/api/status and the camera page to show the sub-stream streaming", func() bool {
		_, status = edgeGet(t, edge.url+"/api/status?history=0")
		_, page = edgeGet(t, edge.url+"/cameras/door")
		return strings.Contains(status, `"sub_stream":{"state":"streaming","width":640,"height":360`) &&
			strings.Contains(page, "sub-stream streaming 640×360")
	})
	metrics := capture.get(t, "/metrics")
	if want := `camstream_capture_sub_state{camera="door",state="streaming"} 1`; !strings.Contains(metrics, want) {
		t.Errorf("capture metrics lack %s", want)
	}

	viewer.close()
	harness.WaitFor(t, captureWait, "the sub-stream closed after the last small viewer left", func() bool {
		return capture.camera(t, "door").GetSubStream().GetState() == camstreamv1.CameraState_CAMERA_STATE_IDLE
	})
	if st := capture.camera(t, "door").GetState(); st != camstreamv1.CameraState_CAMERA_STATE_IDLE {
		t.Errorf("camera state after the viewer left = %v, want idle", st)
	}
	if !capture.Contains(`"msg":"camera sub-stream idle"`) && !capture.Contains("camera sub-stream idle") {
		t.Errorf("capture did not log the sub-stream closing:\n%s", capture.Output())
	}
	captureNoSecret(t, capturePassword, map[string]string{
		"capture log": capture.Output(), "edge log": edge.Output(), "/api/status": status,
		"camera page": page, "metrics": metrics, "ListCameras": fmt.Sprint(capture.cameras(t)),
	})
}

// The status page shows a camera's sub-stream: its state and size.
func TestBrowserStatusShowsSubStream(t *testing.T) {
	_, _, edge := subSourceStart(t)
	b := browserStart(t)
	viewer := edgeOpenStream(t, edge.url+"/cameras/door/stream.mjpeg?width=320")
	viewer.next(t, captureWait)
	b.do(t, 30*time.Second, chromedp.Navigate(edge.url+"/status"), chromedp.WaitVisible(".status-card"))
	const card = `document.querySelector('.status-card[data-camera="door"]').innerText`
	var text string
	harness.WaitFor(t, captureWait, "the status card to show the sub-stream streaming", func() bool {
		text = b.text(t, card)
		return strings.Contains(text, "sub-stream") && strings.Contains(text, "streaming 640×360")
	})
	b.screenshot(t, "status-substream.png")
	viewer.close()
	harness.WaitFor(t, captureWait, "the status card to show the sub-stream idle", func() bool {
		text = b.text(t, card)
		return strings.Contains(text, "idle 640×360")
	})
}

// A sub_source that cannot be played (the RTSP server has no such path):
// the sub-stream is shown failed with its error, and a viewer at 320 gets
// its frames from the main stream, which the on-demand camera opens for it.
func TestSubSourceFailureFallsBackToMain(t *testing.T) {
	rtsp := rtspserver.Start(t, rtspserver.Options{Paths: []string{"/main"}, FPS: 15})
	cfg := captureConfig(t, fmt.Sprintf(`
cameras:
  - id: door
    source: rtsp://127.0.0.1:%[1]d/main
    sub_source: rtsp://127.0.0.1:%[1]d/missing
    on_demand: true
    idle_timeout: 2s
`, rtsp.Port()))
	capture := captureStart(t, []string{"--config", cfg})
	edge := edgeStartEdge(t, []string{capture.grpcAddr}, "--upstream-grace", "500ms")
	viewer := edgeOpenStream(t, edge.url+"/cameras/door/stream.mjpeg?width=320")
	for i := range 5 {
		p := viewer.next(t, captureWait)
		if c, err := jpeg.DecodeConfig(bytes.NewReader(p.JPEG)); err != nil || c.Width != 320 || c.Height != 180 {
			t.Fatalf("frame %d at width 320: %d×%d (%v), want 320×180", i, c.Width, c.Height, err)
		}
	}
	cam := capture.camera(t, "door")
	if sub := cam.GetSubStream(); sub.GetState() != camstreamv1.CameraState_CAMERA_STATE_FAILED || sub.GetLastError() == "" {
		t.Errorf("sub_stream of a missing path = %v, want failed with its error", sub)
	}
	if cam.GetState() != camstreamv1.CameraState_CAMERA_STATE_STREAMING || !strings.Contains(rtsp.Log(), "play /main\n") {
		t.Errorf("camera state %v, RTSP log %q; want the main stream playing for the small viewer", cam.GetState(), rtsp.Log())
	}
	viewer.close()
	capture.waitState(t, "door", captureWait, camstreamv1.CameraState_CAMERA_STATE_IDLE)
}

// A camera that is always on, whose main stream cannot be played (the
// RTSP server has no such path) but whose sub_source streams at 640×360:
// a snapshot at width 320 comes from the sub-stream, over gRPC and through
// the edge; one at 960, above the sub-stream's width, is UNAVAILABLE at
// once (the edge answers 503), naming both streams' states.
func TestSubSourceSnapshotWhileMainFailed(t *testing.T) {
	rtsp := rtspserver.Start(t, rtspserver.Options{Paths: []string{"/main"}, FPS: 15,
		Sizes: map[string]image.Point{"/sub": {640, 360}}})
	cfg := captureConfig(t, fmt.Sprintf(`
cameras:
  - id: door
    source: rtsp://127.0.0.1:%[1]d/missing
    sub_source: rtsp://127.0.0.1:%[1]d/sub
    idle_timeout: 2s
`, rtsp.Port()))
	capture := captureStart(t, []string{"--config", cfg})
	edge := edgeStartEdge(t, []string{capture.grpcAddr})
	capture.waitState(t, "door", captureWait, camstreamv1.CameraState_CAMERA_STATE_FAILED)

	code, body := edgeGet(t, edge.url+"/cameras/door/snapshot.jpg?width=320")
	if code != 200 {
		t.Fatalf("edge snapshot at width 320 with the main stream failed: %d %.300s", code, body)
	}
	if c, err := jpeg.DecodeConfig(strings.NewReader(body)); err != nil || c.Width != 320 || c.Height != 180 {
		t.Fatalf("edge snapshot at width 320: %d×%d (%v), want 320×180", c.Width, c.Height, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), captureWait)
	defer cancel()
	resp, err := capture.client.GetSnapshot(ctx, &camstreamv1.GetSnapshotRequest{CameraId: "door", Width: 320})
	if err != nil || resp.GetFrame().GetWidth() != 320 {
		t.Fatalf("GetSnapshot(width 320) with the main stream failed: %v, %v; want a 320-wide frame", resp.GetFrame().GetWidth(), err)
	}
	if log := rtsp.Log(); !strings.Contains(log, "play /sub\n") {
		t.Errorf("RTSP server log = %q, want /sub played", log)
	}

	_, err = capture.client.GetSnapshot(ctx, &camstreamv1.GetSnapshotRequest{CameraId: "door", Width: 960})
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), `camera "door" has no frame (state failed)`) ||
		!strings.Contains(err.Error(), "sub-stream streaming 640×360 serves widths up to 640") {
		t.Errorf("GetSnapshot(width 960) = %v, want UNAVAILABLE naming the failed main stream and the sub-stream's width", err)
	}
	if code, body := edgeGet(t, edge.url+"/cameras/door/snapshot.jpg?width=960"); code != 503 {
		t.Errorf("edge snapshot at width 960: %d %.300s, want 503", code, body)
	}
}
