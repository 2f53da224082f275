package e2e

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"strings"
	"testing"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/test/harness"
	"github.com/camstream/camstream/test/rtspserver"
)

// An on-demand camera with a mask, rotate 180 and a sub_source, behind
// an edge: a real RTSP server serves the SMPTE pattern at /main 1280×720
// and /sub 640×360. A viewer at ?width=320 first gets frames from the
// main stream (the controls cannot be scaled before its size is known),
// then from the sub-stream, the main stream closed: every 320×180 frame
// has the mask uniformly its colour, and the sub-stream's frames are
// turned (the pattern's blue top-right bar is at the bottom left).
func TestSubSourceWithControls(t *testing.T) {
	rtsp := rtspserver.Start(t, rtspserver.Options{Paths: []string{"/main"}, FPS: 15, Pattern: "smpte",
		Sizes: map[string]image.Point{"/sub": {640, 360}}})
	cfg := captureConfig(t, fmt.Sprintf(`
cameras:
  - id: door
    source: rtsp://127.0.0.1:%[1]d/main
    sub_source: rtsp://127.0.0.1:%[1]d/sub
    on_demand: true
    idle_timeout: 2s
    rotate: 180
    masks:
      - {x: 400, y: 40, width: 640, height: 400, color: "#806040"}
`, rtsp.Port()))
	capture := captureStart(t, []string{"--config", cfg})
	edge := edgeStartEdge(t, []string{capture.grpcAddr}, "--upstream-grace", "500ms")
	mask, brown := image.Rect(400, 40, 1040, 440), color.RGBA{R: 0x80, G: 0x60, B: 0x40}
	check := func(what string, b []byte) image.Image {
		t.Helper()
		img, err := jpeg.Decode(bytes.NewReader(b))
		if err != nil || img.Bounds().Size() != image.Pt(320, 180) {
			t.Fatalf("%s: not a 320×180 JPEG (%v)", what, err)
		}
		if msg := maskedIn(b, 1280, mask, brown); msg != "" {
			t.Fatalf("%s: %s", what, msg)
		}
		return img
	}

	viewer := edgeOpenStream(t, edge.url+"/cameras/door/stream.mjpeg?width=320")
	n := 0
	harness.WaitFor(t, captureWait, "the sub-stream to make width 320 and the main stream to close", func() bool {
		n++
		check(fmt.Sprintf("frame %d", n), viewer.next(t, captureWait).JPEG)
		cam := capture.camera(t, "door")
		return cam.GetSubStream().GetState() == camstreamv1.CameraState_CAMERA_STATE_STREAMING &&
			cam.GetState() == camstreamv1.CameraState_CAMERA_STATE_IDLE
	})
	blue, white := color.RGBA{B: 255}, color.RGBA{R: 255, G: 255, B: 255}
	for i := range 10 {
		img := check(fmt.Sprintf("sub-stream frame %d", i), viewer.next(t, captureWait).JPEG)
		// The pattern's top-right bar is blue, its top-left white.
		if c := img.At(10, 150); !nearRGB(c, blue, 40) {
			t.Errorf("sub-stream frame %d: pixel (10,150) = %v, want the blue bar %v (turned 180)", i, c, blue)
		}
		if c := img.At(309, 79); !nearRGB(c, white, 40) {
			t.Errorf("sub-stream frame %d: pixel (309,79) = %v, want the white bar %v (turned 180)", i, c, white)
		}
	}
	log := rtsp.Log()
	if !strings.Contains(log, "play /main\n") || !strings.Contains(log, "play /sub\n") {
		t.Errorf("RTSP server log = %q, want /main played (to learn its size) and /sub", log)
	}
	if sub := capture.camera(t, "door").GetSubStream(); sub.GetWidth() != 640 || sub.GetHeight() != 360 || sub.GetLastError() != "" {
		t.Errorf("sub_stream = %v, want 640×360 without error", sub)
	}
}

// nearRGB reports whether c is within tol of want in R, G and B.
func nearRGB(c color.Color, want color.RGBA, tol int) bool {
	r, g, b, _ := c.RGBA()
	d := func(v uint32, w uint8) bool { x := int(v>>8) - int(w); return x >= -tol && x <= tol }
	return d(r, want.R) && d(g, want.G) && d(b, want.B)
}
