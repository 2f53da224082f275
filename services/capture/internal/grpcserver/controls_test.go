package grpcserver

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"strings"
	"testing"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/services/capture/internal/camera"
	"github.com/camstream/camstream/services/capture/internal/config"
)

func decodeJPEG(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("frame is not a JPEG: %v", err)
	}
	return img
}

// solid fails unless the 16×16 JPEG blocks wholly inside r (in pixels of
// a picture fullW wide, scaled to img) are col within tol.
func solid(t *testing.T, what string, img image.Image, fullW int, r image.Rectangle, col color.RGBA, tol int) {
	t.Helper()
	if msg := notSolid(img, fullW, r, col, tol); msg != "" {
		t.Errorf("%s: %s", what, msg)
	}
}

// notSolid says where img is not col inside r, or "".
func notSolid(img image.Image, fullW int, r image.Rectangle, col color.RGBA, tol int) string {
	s := float64(img.Bounds().Dx()) / float64(fullW)
	in := image.Rect(int(float64(r.Min.X)*s)+1, int(float64(r.Min.Y)*s)+1, int(float64(r.Max.X)*s)-1, int(float64(r.Max.Y)*s)-1)
	in = image.Rect((in.Min.X+15)/16*16, (in.Min.Y+15)/16*16, in.Max.X/16*16, in.Max.Y/16*16)
	if in.Dx() < 32 || in.Dy() < 32 {
		return fmt.Sprintf("the mask's inner blocks %v are too small to check", in)
	}
	for y := in.Min.Y; y < in.Max.Y; y++ {
		for x := in.Min.X; x < in.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if abs(int(cr>>8)-int(col.R)) > tol || abs(int(cg>>8)-int(col.G)) > tol || abs(int(cb>>8)-int(col.B)) > tol {
				return fmt.Sprintf("pixel (%d,%d) = %v, want the mask's %v", x, y, img.At(x, y), col)
			}
		}
	}
	return ""
}

func abs(v int) int { return max(v, -v) }

// Picture controls seen through gRPC: a mask in snapshots and streams of
// every size, a rotated camera's swapped size, a camera whose crop does
// not fit failing alone with its error in ListCameras, and a reload that
// restarts only the camera whose controls changed.
func TestControlsThroughGRPC(t *testing.T) {
	brown := color.RGBA{R: 128, G: 96, B: 64, A: 255}
	mask := image.Rect(8, 8, 360, 280)
	cfgs := []config.Camera{
		cam(t, "masked", "test://smpte", func(c *config.Camera) {
			c.Width, c.FPS = 0, 20
			c.Controls.Masks = []config.Mask{{Rect: mask, Color: brown}}
		}),
		cam(t, "rotated", "test://smpte", func(c *config.Camera) { c.Width, c.FPS, c.Controls.Rotate = 0, 20, 270 }),
		cam(t, "cropped", "test://smpte", func(c *config.Camera) { c.Width, c.Controls.Crop = 0, image.Rect(600, 0, 700, 100) }),
	}
	f := start(t, cfgs, camera.Options{})
	f.waitState(t, "masked", camstreamv1.CameraState_CAMERA_STATE_STREAMING)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for _, w := range []int32{0, 480, 320, 160} {
		snap, err := f.client.GetSnapshot(ctx, &camstreamv1.GetSnapshotRequest{CameraId: "masked", Width: w})
		if err != nil {
			t.Fatalf("GetSnapshot(width %d): %v", w, err)
		}
		solid(t, "snapshot", decodeJPEG(t, snap.GetFrame().GetJpeg()), 640, mask, brown, 12)
		stream, err := f.client.StreamFrames(ctx, &camstreamv1.StreamFramesRequest{CameraId: "masked", Width: w})
		if err != nil {
			t.Fatal(err)
		}
		m, err := stream.Recv()
		if err != nil {
			t.Fatalf("StreamFrames(width %d): %v", w, err)
		}
		solid(t, "stream", decodeJPEG(t, m.GetFrame().GetJpeg()), 640, mask, brown, 12)
	}

	rot := f.waitState(t, "rotated", camstreamv1.CameraState_CAMERA_STATE_STREAMING)
	if rot.GetWidth() != 360 || rot.GetHeight() != 640 {
		t.Errorf("rotated camera listed as %d×%d, want 360×640", rot.GetWidth(), rot.GetHeight())
	}
	bad := f.waitState(t, "cropped", camstreamv1.CameraState_CAMERA_STATE_FAILED)
	if want := `camera "cropped": crop: {x: 600, y: 0, width: 100, height: 100} does not fit the 640×360 picture`; !strings.Contains(bad.GetLastError(), want) {
		t.Errorf("cropped camera's last error = %q, want %q", bad.GetLastError(), want)
	}

	reloadControls(t, f, cfgs[:2], mask)
}

// reloadControls reloads cfgs (a masked camera, then an unchanged one)
// with the mask's colour changed: the masked camera restarts and its
// frames get the new colour; the other goes on untouched.
func reloadControls(t *testing.T, f *fixture, cfgs []config.Camera, mask image.Rectangle) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	rotStream, err := f.client.StreamFrames(ctx, &camstreamv1.StreamFramesRequest{CameraId: cfgs[1].ID})
	if err != nil {
		t.Fatal(err)
	}
	before, err := rotStream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	next := []config.Camera{cfgs[0], cfgs[1]}
	blue := color.RGBA{R: 40, G: 60, B: 200, A: 255}
	next[0].Controls.Masks = []config.Mask{{Rect: mask, Color: blue}}
	ch := f.cams.Apply(next)
	if strings.Join(ch.Changed, ",") != "masked" || strings.Join(ch.Removed, ",") != "cropped" || len(ch.Added) != 0 {
		t.Errorf("reload changes = %+v, want masked changed, cropped removed", ch)
	}
	masked, err := f.client.StreamFrames(ctx, &camstreamv1.StreamFramesRequest{CameraId: "masked", Width: 320})
	if err != nil {
		t.Fatal(err)
	}
	for msg := "no frame"; msg != ""; { // frames from before the restart may come first
		m, err := masked.Recv()
		if err != nil {
			t.Fatalf("no frame with the new mask colour after the reload (last: %s): %v", msg, err)
		}
		msg = notSolid(decodeJPEG(t, m.GetFrame().GetJpeg()), 640, mask, blue, 12)
	}
	after, err := rotStream.Recv()
	if err != nil || after.GetFrame().GetSeq() <= before.GetFrame().GetSeq() {
		t.Errorf("the unchanged camera's stream after the reload: seq %d after %d, %v; want it to go on", after.GetFrame().GetSeq(), before.GetFrame().GetSeq(), err)
	}
	if st, _ := f.cams.Get(cfgs[1].ID); st.Status().LastError != "" || st.State() != camera.StateStreaming {
		t.Errorf("the unchanged camera: %v, %q; want streaming on", st.State(), st.Status().LastError)
	}
}
