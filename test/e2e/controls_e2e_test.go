package e2e

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"strings"
	"testing"
	"time"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
)

const controlsFile = `cameras:
  - id: masked
    source: test://smpte
    fps: 10
    masks:
      - {x: 8, y: 8, width: 352, height: 272, color: "#806040"}
    overlay: {text: "{name} %H:%M:%S", corner: bottom-right}
  - id: turned
    source: test://smpte
    fps: 10
    rotate: 90
  - id: outside
    source: test://smpte
    fps: 10
    masks:
      - {x: 600, y: 300, width: 100, height: 100}
`

// Picture controls through the real binaries: a masked camera's snapshots
// and streams from an edge are the mask's colour in every size; a rotated
// camera is listed and served at its turned size; a camera whose mask
// does not fit its frames fails alone, saying why.
func TestControlsThroughEdge(t *testing.T) {
	capture := captureStart(t, []string{"--config", captureConfig(t, controlsFile)})
	edge := edgeStartEdge(t, []string{capture.grpcAddr})
	capture.waitState(t, "masked", captureWait, camstreamv1.CameraState_CAMERA_STATE_STREAMING)
	mask, brown := image.Rect(8, 8, 360, 280), color.RGBA{R: 0x80, G: 0x60, B: 0x40}
	for _, w := range []int{0, 480, 320, 160} {
		url := edge.url + "/cameras/masked/snapshot.jpg" // full size: no ?width (0 is a bad query)
		if w != 0 {
			url += fmt.Sprintf("?width=%d", w)
		}
		status, body := edgeGet(t, url)
		if status != 200 {
			t.Fatalf("snapshot at width %d: %d %s", w, status, body)
		}
		if msg := maskedIn([]byte(body), 640, mask, brown); msg != "" {
			t.Errorf("snapshot at width %d: %s", w, msg)
		}
	}
	s := edgeOpenStream(t, edge.url+"/cameras/masked/stream.mjpeg?width=480")
	if msg := maskedIn(s.next(t, 20*time.Second).JPEG, 640, mask, brown); msg != "" {
		t.Errorf("stream at width 480: %s", msg)
	}

	turned := capture.waitState(t, "turned", captureWait, camstreamv1.CameraState_CAMERA_STATE_STREAMING)
	if turned.GetWidth() != 360 || turned.GetHeight() != 640 {
		t.Errorf("turned camera listed as %d×%d, want 360×640", turned.GetWidth(), turned.GetHeight())
	}
	if _, body := edgeGet(t, edge.url+"/cameras/turned/snapshot.jpg"); !jpegIs(body, 360, 640) {
		t.Errorf("turned camera's snapshot is not a 360×640 JPEG")
	}

	outside := capture.waitState(t, "outside", captureWait, camstreamv1.CameraState_CAMERA_STATE_FAILED)
	want := `camera "outside": masks[0]: {x: 600, y: 300, width: 100, height: 100} does not fit the 640×360 picture`
	if !strings.Contains(outside.GetLastError(), want) {
		t.Errorf("outside camera's last error = %q, want %q", outside.GetLastError(), want)
	}
	if st := capture.camera(t, "masked").GetState(); st != camstreamv1.CameraState_CAMERA_STATE_STREAMING {
		t.Errorf("masked camera is %v beside the failed one, want streaming", st)
	}
}

func jpegIs(b string, w, h int) bool {
	c, err := jpeg.DecodeConfig(strings.NewReader(b))
	return err == nil && c.Width == w && c.Height == h
}

// maskedIn says where the JPEG b is not col inside the mask r (in pixels
// of a picture fullW wide), or "": it checks the 16×16 JPEG blocks wholly
// inside the mask, less a pixel of resize blur, within 12 per channel.
func maskedIn(b []byte, fullW int, r image.Rectangle, col color.RGBA) string {
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		return fmt.Sprintf("not a JPEG: %v", err)
	}
	s := float64(img.Bounds().Dx()) / float64(fullW)
	in := image.Rect(int(float64(r.Min.X)*s)+1, int(float64(r.Min.Y)*s)+1, int(float64(r.Max.X)*s)-1, int(float64(r.Max.Y)*s)-1)
	in = image.Rect((in.Min.X+15)/16*16, (in.Min.Y+15)/16*16, in.Max.X/16*16, in.Max.Y/16*16)
	if in.Dx() < 32 || in.Dy() < 32 {
		return fmt.Sprintf("the mask's inner blocks %v are too small to check", in)
	}
	near := func(v uint32, w uint8) bool { d := int(v>>8) - int(w); return d >= -12 && d <= 12 }
	for y := in.Min.Y; y < in.Max.Y; y++ {
		for x := in.Min.X; x < in.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if !near(cr, col.R) || !near(cg, col.G) || !near(cb, col.B) {
				return fmt.Sprintf("pixel (%d,%d) of %v = %v, want the mask's %v", x, y, img.Bounds().Size(), img.At(x, y), col)
			}
		}
	}
	return ""
}
