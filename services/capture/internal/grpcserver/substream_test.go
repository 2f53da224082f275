package grpcserver

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/prototext"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/services/capture/internal/camera"
	"github.com/camstream/camstream/services/capture/internal/config"
)

// subCam is an on-demand 1280-wide test camera with sub as its sub_source.
func subCam(t *testing.T, sub string) config.Camera {
	return cam(t, "hd", "test://ball", func(c *config.Camera) {
		s, err := config.ParseSource(sub)
		if err != nil {
			t.Fatal(err)
		}
		c.Width, c.FPS, c.OnDemand, c.SubSource = 1280, 20, true, s
	})
}

// waitSub polls ListCameras until the camera's sub_stream is in state want.
func (f *fixture) waitSub(t *testing.T, id string, want camstreamv1.CameraState) *camstreamv1.Camera {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		resp, err := f.client.ListCameras(context.Background(), &camstreamv1.ListCamerasRequest{})
		if err != nil {
			t.Fatalf("ListCameras: %v", err)
		}
		for _, c := range resp.Cameras {
			if c.Id == id && c.GetSubStream().GetState() == want {
				return c
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("camera %s: sub_stream never %v: %v", id, want, resp.Cameras)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A small snapshot of an on-demand camera with a sub_source is made from
// the sub-stream (640×360 test pattern), whose state ListCameras shows;
// the main stream stays closed.
func TestSnapshotFromSubStream(t *testing.T) {
	f := start(t, []config.Camera{subCam(t, "test://smpte")}, camera.Options{})
	c := f.waitSub(t, "hd", camstreamv1.CameraState_CAMERA_STATE_IDLE)
	if c.SubStream.Source != "test://smpte" || c.SubStream.Width != 0 {
		t.Errorf("sub_stream before any viewer = %v, want idle test://smpte of unknown size", c.SubStream)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	resp, err := f.client.GetSnapshot(ctx, &camstreamv1.GetSnapshotRequest{CameraId: "hd", Width: 320})
	if err != nil {
		t.Fatalf("GetSnapshot(width 320): %v", err)
	}
	if w, h := jpegSize(t, resp.Frame.Jpeg); w != 320 || h != 180 {
		t.Errorf("snapshot at width 320 is %d×%d, want 320×180", w, h)
	}
	c = f.waitSub(t, "hd", camstreamv1.CameraState_CAMERA_STATE_STREAMING)
	if c.SubStream.Width != 640 || c.SubStream.Height != 360 || c.State != camstreamv1.CameraState_CAMERA_STATE_IDLE {
		t.Errorf("after a small snapshot: camera %v, sub_stream %v; want the camera idle, the sub_stream 640×360", c.State, c.SubStream)
	}
	f.waitSub(t, "hd", camstreamv1.CameraState_CAMERA_STATE_IDLE) // idle_timeout after the call
}

// A sub_source that cannot open is shown failed, with its credentials
// masked everywhere, and the small snapshot comes from the main stream.
func TestFailedSubStreamFallsBackAndHidesCredentials(t *testing.T) {
	f := start(t, []config.Camera{subCam(t, "rtsp://admin:hunter2@127.0.0.1:1/stream2")}, camera.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	resp, err := f.client.GetSnapshot(ctx, &camstreamv1.GetSnapshotRequest{CameraId: "hd", Width: 320})
	if err != nil {
		t.Fatalf("GetSnapshot(width 320) with a failed sub_source: %v", err)
	}
	if w, h := jpegSize(t, resp.Frame.Jpeg); w != 320 || h != 180 {
		t.Errorf("snapshot at width 320 is %d×%d, want 320×180", w, h)
	}
	c := f.waitSub(t, "hd", camstreamv1.CameraState_CAMERA_STATE_FAILED)
	if c.SubStream.Source != "rtsp://***@127.0.0.1:1/stream2" || c.SubStream.LastError == "" {
		t.Errorf("failed sub_stream = %v, want its redacted source and an error", c.SubStream)
	}
	list, err := f.client.ListCameras(ctx, &camstreamv1.ListCamerasRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if text := prototext.Format(list); strings.Contains(text, "hunter2") || strings.Contains(text, "admin") {
		t.Errorf("ListCameras shows the sub_source's credentials:\n%s", text)
	}
}

// failedMainCam is a 1280-wide camera, always on, whose main stream
// cannot open (nothing listens on port 1), with sub as its sub_source.
func failedMainCam(t *testing.T, sub string) config.Camera {
	return cam(t, "hd", "rtsp://127.0.0.1:1/main", func(c *config.Camera) {
		s, err := config.ParseSource(sub)
		if err != nil {
			t.Fatal(err)
		}
		c.Width, c.FPS, c.SubSource, c.IdleTimeout = 1280, 20, s, time.Minute
	})
}

// A camera whose main stream failed still answers a snapshot at a width
// its sub-stream (640×360) makes, as StreamFrames does; a width above the
// sub-stream's answers UNAVAILABLE at once, naming both streams' states.
func TestSnapshotFromSubStreamWhileMainFailed(t *testing.T) {
	f := start(t, []config.Camera{failedMainCam(t, "test://smpte")}, camera.Options{})
	f.srv.snapshotTimeout = time.Hour // an answer that waited would end with the call's deadline
	f.waitState(t, "hd", camstreamv1.CameraState_CAMERA_STATE_FAILED)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	resp, err := f.client.GetSnapshot(ctx, &camstreamv1.GetSnapshotRequest{CameraId: "hd", Width: 320})
	if err != nil {
		t.Fatalf("GetSnapshot(width 320) with the main stream failed and the sub-stream able to serve: %v", err)
	}
	if w, h := jpegSize(t, resp.Frame.Jpeg); w != 320 || h != 180 {
		t.Errorf("snapshot at width 320 is %d×%d, want 320×180", w, h)
	}
	f.waitSub(t, "hd", camstreamv1.CameraState_CAMERA_STATE_STREAMING)
	_, err = f.client.GetSnapshot(ctx, &camstreamv1.GetSnapshotRequest{CameraId: "hd", Width: 960})
	want := `camera "hd" has no frame (state failed): open rtsp://127.0.0.1:1/main`
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), want) ||
		!strings.Contains(err.Error(), "sub-stream streaming 640×360 serves widths up to 640") {
		t.Errorf("GetSnapshot(width 960) above the sub-stream = %v, want UNAVAILABLE at once: %s; sub-stream streaming 640×360 serves widths up to 640", err, want)
	}
}

// When neither stream can serve a snapshot (the main stream and the
// sub-stream both failed), the answer is UNAVAILABLE at once, with both
// errors.
func TestSnapshotUnavailableWhenMainAndSubFailed(t *testing.T) {
	f := start(t, []config.Camera{failedMainCam(t, "rtsp://127.0.0.1:1/sub")}, camera.Options{})
	f.srv.snapshotTimeout = time.Hour
	f.waitState(t, "hd", camstreamv1.CameraState_CAMERA_STATE_FAILED)
	// A viewer at 320 opens the sub-stream, which fails; it stays failed
	// (retrying) for idle_timeout after the viewer leaves.
	streamCtx, stopStream := context.WithCancel(context.Background())
	stream, err := f.client.StreamFrames(streamCtx, &camstreamv1.StreamFramesRequest{CameraId: "hd", Width: 320})
	if err != nil {
		t.Fatal(err)
	}
	f.waitSub(t, "hd", camstreamv1.CameraState_CAMERA_STATE_FAILED)
	stopStream()
	_, _ = stream.Recv()

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, err = f.client.GetSnapshot(ctx, &camstreamv1.GetSnapshotRequest{CameraId: "hd", Width: 320})
	want := `camera "hd" has no frame (state failed): open rtsp://127.0.0.1:1/main`
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), want) ||
		!strings.Contains(err.Error(), "sub-stream failed: sub_source: open rtsp://127.0.0.1:1/sub") {
		t.Errorf("GetSnapshot(width 320) with both streams failed = %v, want UNAVAILABLE at once: %s; sub-stream failed: sub_source: open rtsp://127.0.0.1:1/sub…", err, want)
	}
}

// TestSnapshotEndsWhenSubStreamFails: a snapshot at a width the idle
// sub-stream makes, asked while the main stream is failed, waits for the
// sub-stream; when it fails to open, the call answers UNAVAILABLE then,
// not at the snapshot timeout.
func TestSnapshotEndsWhenSubStreamFails(t *testing.T) {
	f := start(t, []config.Camera{failedMainCam(t, "rtsp://127.0.0.1:1/sub")}, camera.Options{})
	f.srv.snapshotTimeout = time.Hour
	f.waitState(t, "hd", camstreamv1.CameraState_CAMERA_STATE_FAILED)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, err := f.client.GetSnapshot(ctx, &camstreamv1.GetSnapshotRequest{CameraId: "hd", Width: 320})
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "sub-stream failed: sub_source: open rtsp://127.0.0.1:1/sub") {
		t.Errorf("GetSnapshot(width 320) as its sub-stream fails to open = %v, want UNAVAILABLE naming the failed sub-stream", err)
	}
}
