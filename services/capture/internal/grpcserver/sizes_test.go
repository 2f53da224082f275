package grpcserver

import (
	"bytes"
	"context"
	"image/jpeg"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/services/capture/internal/camera"
	"github.com/camstream/camstream/services/capture/internal/config"
)

// jpegSize decodes a JPEG's header and returns its size.
func jpegSize(t testing.TB, b []byte) (int, int) {
	t.Helper()
	c, err := jpeg.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("frame is not a JPEG: %v", err)
	}
	return c.Width, c.Height
}

func hd(t testing.TB) []config.Camera {
	return []config.Camera{cam(t, "hd", "test://ball", func(c *config.Camera) { c.Width = 1280; c.FPS = 20 })}
}

// A snapshot at a width is a JPEG of the snapped width that keeps the
// camera's aspect ratio; width 0 and widths not below the camera's are the
// full size.
func TestSnapshotAtWidth(t *testing.T) {
	f := start(t, hd(t), camera.Options{})
	f.waitState(t, "hd", camstreamv1.CameraState_CAMERA_STATE_STREAMING)
	tests := []struct {
		width        int32
		wantW, wantH int
	}{
		{0, 1280, 720},
		{320, 320, 180},
		{400, 320, 180},
		{100, 160, 90},
		{1280, 1280, 720},
		{1 << 30, 1280, 720},
	}
	for _, tt := range tests {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		resp, err := f.client.GetSnapshot(ctx, &camstreamv1.GetSnapshotRequest{CameraId: "hd", Width: tt.width})
		cancel()
		if err != nil {
			t.Fatalf("GetSnapshot(width %d): %v", tt.width, err)
		}
		w, h := jpegSize(t, resp.Frame.Jpeg)
		if w != tt.wantW || h != tt.wantH || int(resp.Frame.Width) != w || int(resp.Frame.Height) != h {
			t.Errorf("GetSnapshot(width %d): JPEG %d×%d, frame says %d×%d, want %d×%d",
				tt.width, w, h, resp.Frame.Width, resp.Frame.Height, tt.wantW, tt.wantH)
		}
	}
}

func TestNegativeWidthIsInvalid(t *testing.T) {
	f := start(t, hd(t), camera.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, err := f.client.GetSnapshot(ctx, &camstreamv1.GetSnapshotRequest{CameraId: "hd", Width: -1})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("GetSnapshot(width -1): %v, want INVALID_ARGUMENT", err)
	}
	stream, err := f.client.StreamFrames(ctx, &camstreamv1.StreamFramesRequest{CameraId: "hd", Width: -320})
	if err == nil {
		_, err = stream.Recv()
	}
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("StreamFrames(width -320): %v, want INVALID_ARGUMENT", err)
	}
}

// sizeEncodes returns the camera's encodes at width and its subscribers.
func sizeEncodes(f *fixture, id string, width int) (encodes uint64, subs int) {
	c, _ := f.cams.Get(id)
	for _, z := range c.Status().Sizes {
		if z.Width == width {
			return z.Encodes, z.Subscribers
		}
	}
	return 0, 0
}

// Many streams of one width make one encode per frame at that width, and
// the width is listed while watched; when the last leaves, encoding stops.
func TestOneEncodePerFrameAndSizeUntilTheLastLeaves(t *testing.T) {
	f := start(t, hd(t), camera.Options{})
	f.waitState(t, "hd", camstreamv1.CameraState_CAMERA_STATE_STREAMING)
	ctx, cancel := context.WithCancel(context.Background())
	streams := make([]camstreamv1.CaptureService_StreamFramesClient, 10)
	for i := range streams {
		s, err := f.client.StreamFrames(ctx, &camstreamv1.StreamFramesRequest{CameraId: "hd", Width: 320})
		if err != nil {
			t.Fatal(err)
		}
		streams[i] = s
	}
	var lastSeq uint64
	for range 10 {
		for _, s := range streams {
			resp, err := s.Recv()
			if err != nil {
				t.Fatal(err)
			}
			if w, h := jpegSize(t, resp.Frame.Jpeg); w != 320 || h != 180 {
				t.Fatalf("stream at width 320 got a %d×%d frame", w, h)
			}
			lastSeq = max(lastSeq, resp.Frame.Seq)
		}
	}
	encodes, subs := sizeEncodes(f, "hd", 320)
	if subs != 10 {
		t.Errorf("subscribers at width 320: %d, want 10", subs)
	}
	// Each stream's frames carry the size's own sequence numbers: one per
	// encode, so encodes can only exceed the newest seq seen.
	if encodes < lastSeq || encodes > lastSeq+5 {
		t.Errorf("encodes at width 320: %d after frame seq %d reached 10 streams, want one per frame", encodes, lastSeq)
	}
	list := f.waitState(t, "hd", camstreamv1.CameraState_CAMERA_STATE_STREAMING)
	if len(list.Sizes) != 1 || list.Sizes[0].Width != 320 || list.Sizes[0].Height != 180 || list.Sizes[0].Subscribers != 10 {
		t.Errorf("ListCameras sizes: %v, want width 320 height 180 with 10 subscribers", list.Sizes)
	}

	cancel()
	deadline := time.Now().Add(wait)
	for _, subs := sizeEncodes(f, "hd", 320); subs != 0; _, subs = sizeEncodes(f, "hd", 320) {
		if time.Now().After(deadline) {
			t.Fatalf("subscribers at width 320 after every stream ended: %d, want 0", subs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	before, _ := sizeEncodes(f, "hd", 320)
	cam, _ := f.cams.Get("hd")
	framesBefore := cam.Status().Frames
	for cam.Status().Frames < framesBefore+10 {
		time.Sleep(10 * time.Millisecond)
	}
	if after, _ := sizeEncodes(f, "hd", 320); after != before {
		t.Errorf("encodes at width 320 went on after the last stream left: %d, then %d 10 frames later", before, after)
	}
	if list := f.waitState(t, "hd", camstreamv1.CameraState_CAMERA_STATE_STREAMING); len(list.Sizes) != 0 {
		t.Errorf("ListCameras sizes with nobody watching: %v, want none", list.Sizes)
	}
}
