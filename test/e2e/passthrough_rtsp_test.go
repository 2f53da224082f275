package e2e

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/test/harness"
	"github.com/camstream/camstream/test/rtspserver"
)

// TestPassThroughRTSPJPEG: an RTSP camera in MJPEG mode passes through.
// RTP/JPEG (RFC 2435) carries only a JPEG's scan data and a few numbers;
// every receiver rebuilds the headers. So "the camera's bytes" here are
// what FFmpeg's depayloader rebuilds, and the test compares capture's
// frames with those of an independent FFmpeg RTSP client of the same
// stream (the server's media is shared, so both get the same frames):
// every frame capture serves is byte for byte one the client wrote, and
// capture encoded no frame at all.
//
// The client writes one file per frame (image2). Splitting a piped stream
// at FF D9 instead would match nothing: a rebuilt frame ends with two
// end-of-image markers, GStreamer's own, carried in the payload, and the
// one FFmpeg's depayloader appends.
func TestPassThroughRTSPJPEG(t *testing.T) {
	ffmpeg := harness.RequireTool(t, "ffmpeg")
	srv := rtspserver.Start(t, rtspserver.Options{JPEG: true, Width: 640, Height: 480, FPS: 15})
	capture := captureStart(t, []string{"--config", captureConfig(t,
		fmt.Sprintf("cameras:\n  - id: mjpeg\n    source: %s\n", srv.URL("/stream")))})
	cam := capture.waitState(t, "mjpeg", captureWait, camstreamv1.CameraState_CAMERA_STATE_STREAMING)
	if !cam.GetPassthrough() || cam.GetWidth() != 640 || cam.GetHeight() != 480 {
		t.Fatalf("ListCameras: passthrough %v, %dx%d; want passthrough, 640x480", cam.GetPassthrough(), cam.GetWidth(), cam.GetHeight())
	}

	dir := t.TempDir()
	client := harness.Start(t, ffmpeg, []string{"-loglevel", "error", "-rtsp_transport", "tcp",
		"-i", srv.URL("/stream"), "-c", "copy", "-f", "image2", filepath.Join(dir, "c%05d.jpg")})
	harness.WaitFor(t, captureWait, "the FFmpeg client's first frames", func() bool {
		return len(passthroughFiles(t, dir)) >= 3
	})
	got := passthroughGRPCFrames(t, capture, "mjpeg", 16)[1:] // the first may predate the client
	time.Sleep(time.Second)                                   // the client writes the last of them
	client.Kill()
	files := passthroughFiles(t, dir)
	theirs := make(map[[32]byte]bool, len(files))
	for _, name := range files[:len(files)-1] { // the last may be cut short
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		theirs[sha256.Sum256(b)] = true
	}
	for i, f := range got {
		if !theirs[sha256.Sum256(f)] {
			t.Fatalf("frame %d of %d (%d bytes) is none of the %d frames the FFmpeg client got", i+1, len(got), len(f), len(theirs))
		}
	}
	metrics := capture.get(t, "/metrics")
	for _, re := range []string{`camstream_capture_encode_seconds_count 0\n`, `camstream_capture_camera_passthrough\{camera="mjpeg"\} 1\n`} {
		if !regexp.MustCompile(re).MatchString(metrics) {
			t.Errorf("capture /metrics does not match %s:\n%s", re, passthroughGrep(metrics, "encode_seconds_count", "passthrough"))
		}
	}
	t.Logf("%d frames from capture, each one of the %d the FFmpeg client wrote; no frame encoded", len(got), len(theirs))
}

// passthroughFiles lists the frame files in dir, in order.
func passthroughFiles(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "c*.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}

// passthroughGrep returns the lines of text containing any of words.
func passthroughGrep(text string, words ...string) string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		for _, w := range words {
			if strings.Contains(line, w) && !strings.HasPrefix(line, "#") {
				out = append(out, line)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}
