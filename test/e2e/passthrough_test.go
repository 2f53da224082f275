package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/test/harness"
)

// passthroughRow is a camera of a Motion JPEG source and what capture must
// make of its frames.
type passthroughRow struct {
	id   string
	yaml string // settings besides the source
	pass bool   // frames are the camera's own bytes
	// rotated: the re-encoded picture is the source's turned 180°.
	rotated bool
}

// TestPassThroughHTTPMJPEG: an HTTP MJPEG camera whose frames capture may
// leave alone reaches viewers, through gRPC and through the edge, as the
// very bytes the camera sent; with a setting that needs pixels, the same
// camera's frames are decoded and re-encoded: the same picture, other
// bytes.
func TestPassThroughHTTPMJPEG(t *testing.T) {
	ffmpeg := harness.RequireTool(t, "ffmpeg")
	dir, sent := passthroughFrames(t, ffmpeg, 640, 480, 30)
	rows := []passthroughRow{
		{id: "plain", pass: true},
		{id: "quality", yaml: "quality: 70", pass: false},
		{id: "rotated", yaml: "rotate: 180", pass: false, rotated: true},
	}
	var file strings.Builder
	file.WriteString("cameras:\n")
	for _, r := range rows {
		fmt.Fprintf(&file, "  - id: %s\n    source: %s\n", r.id, passthroughServeMJPEG(t, ffmpeg, dir))
		if r.yaml != "" {
			fmt.Fprintf(&file, "    %s\n", r.yaml)
		}
	}
	capture := captureStart(t, []string{"--config", captureConfig(t, file.String())})
	edge := edgeStartEdge(t, []string{capture.grpcAddr})
	for _, r := range rows {
		t.Run(r.id, func(t *testing.T) {
			cam := capture.waitState(t, r.id, captureWait, camstreamv1.CameraState_CAMERA_STATE_STREAMING)
			if cam.GetPassthrough() != r.pass {
				t.Errorf("ListCameras passthrough = %v, want %v", cam.GetPassthrough(), r.pass)
			}
			for i, f := range passthroughGRPCFrames(t, capture, r.id, 10) {
				passthroughCheck(t, fmt.Sprintf("gRPC frame %d", i+1), f, sent, r)
			}
			s := edgeOpenStream(t, edge.url+"/cameras/"+r.id+"/stream.mjpeg")
			for i := range 5 {
				passthroughCheck(t, fmt.Sprintf("edge part %d", i+1), s.next(t, captureWait).JPEG, sent, r)
			}
			s.close()
			_, snap := edgeGet(t, edge.url+"/cameras/"+r.id+"/snapshot.jpg")
			passthroughCheck(t, "snapshot", []byte(snap), sent, r)
			passthroughSmall(t, edge, r.id, sent)
			passthroughShown(t, capture, edge, r)
		})
	}
}

// passthroughSmall checks that a smaller size of camera id is decoded,
// shrunk and encoded: 320×240 frames, none of them the camera's bytes.
func passthroughSmall(t *testing.T, edge *edgeProc, id string, sent map[[32]byte][]byte) {
	t.Helper()
	s := edgeOpenStream(t, edge.url+"/cameras/"+id+"/stream.mjpeg?width=320")
	defer s.close()
	for i := range 3 {
		part := s.next(t, captureWait).JPEG
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(part))
		if _, own := sent[sha256.Sum256(part)]; err != nil || own || cfg.Width != 320 || cfg.Height != 240 {
			t.Fatalf("part %d at width 320: %dx%d (%v), the camera's own bytes: %v; want a 320x240 JPEG of capture's",
				i+1, cfg.Width, cfg.Height, err, own)
		}
	}
}

// passthroughFrames makes n JPEG frames of a moving test pattern with
// ffmpeg in a new directory and returns it with the frames by checksum.
func passthroughFrames(t *testing.T, ffmpeg string, w, h, n int) (string, map[[32]byte][]byte) {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command(ffmpeg, "-loglevel", "error", "-f", "lavfi",
		"-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=15", w, h), "-frames:v", fmt.Sprint(n), "-q:v", "5",
		filepath.Join(dir, "f%03d.jpg")).CombinedOutput()
	if err != nil {
		t.Fatalf("make frames: %v\n%s", err, out)
	}
	sent := make(map[[32]byte][]byte, n)
	for i := range n {
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("f%03d.jpg", i+1)))
		if err != nil {
			t.Fatal(err)
		}
		sent[sha256.Sum256(b)] = b
	}
	return dir, sent
}

// passthroughServeMJPEG serves the frames of dir in a loop at 15 fps as an
// HTTP MJPEG camera (ffmpeg copies them, it does not re-encode) and
// returns its URL. It serves one client: nothing may probe it first.
func passthroughServeMJPEG(t *testing.T, ffmpeg, dir string) string {
	t.Helper()
	url := fmt.Sprintf("http://127.0.0.1:%d/video.mjpg", harness.FreePort(t))
	harness.Start(t, ffmpeg, []string{"-loglevel", "error", "-re", "-stream_loop", "-1", "-framerate", "15",
		"-i", filepath.Join(dir, "f%03d.jpg"), "-c", "copy", "-f", "mpjpeg", "-listen", "1", url})
	return url
}

// passthroughGRPCFrames returns n frames of camera id from StreamFrames.
func passthroughGRPCFrames(t *testing.T, c *captureProc, id string, n int) [][]byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), captureWait)
	defer cancel()
	stream, err := c.client.StreamFrames(ctx, &camstreamv1.StreamFramesRequest{CameraId: id})
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for len(out) < n {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatalf("frame %d of %s: %v", len(out)+1, id, err)
		}
		if f := resp.Frame; f.Width != 640 || f.Height != 480 {
			t.Fatalf("frame %d of %s is %dx%d, want 640x480", len(out)+1, id, f.Width, f.Height)
		}
		out = append(out, resp.Frame.Jpeg)
	}
	return out
}

// passthroughCheck checks one frame a viewer got: the camera's own bytes
// when the row passes through; else other bytes of the same picture
// (upright or turned as the row says).
func passthroughCheck(t *testing.T, what string, got []byte, sent map[[32]byte][]byte, r passthroughRow) {
	t.Helper()
	_, own := sent[sha256.Sum256(got)]
	if own != r.pass {
		t.Fatalf("%s: %d bytes, the camera's own: %v; want %v", what, len(got), own, r.pass)
	}
	if r.pass {
		return
	}
	upright, turned := passthroughLikeness(t, got, sent)
	if like := min(upright, turned); like > 12 || (turned < upright) != r.rotated {
		t.Fatalf("%s: mean difference to the nearest sent frame upright %.1f, turned 180° %.1f; want the picture %s",
			what, upright, turned, map[bool]string{false: "upright", true: "turned"}[r.rotated])
	}
}

// passthroughLikeness decodes got and returns its smallest mean grey
// difference (0..255, on a grid of samples) to any sent frame, upright and
// turned 180°.
func passthroughLikeness(t *testing.T, got []byte, sent map[[32]byte][]byte) (upright, turned float64) {
	t.Helper()
	g, err := jpeg.Decode(bytes.NewReader(got))
	if err != nil {
		t.Fatalf("decode a frame: %v", err)
	}
	upright, turned = 255, 255
	for _, b := range sent {
		s, err := jpeg.Decode(bytes.NewReader(b))
		if err != nil || s.Bounds() != g.Bounds() {
			t.Fatalf("sent frame %v, got frame %v: %v", s.Bounds(), g.Bounds(), err)
		}
		upright = min(upright, meanDiff(g, s, false))
		turned = min(turned, meanDiff(g, s, true))
	}
	return upright, turned
}

func meanDiff(a, b image.Image, turn bool) float64 {
	r := a.Bounds()
	var sum float64
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y += 8 {
		for x := r.Min.X; x < r.Max.X; x += 8 {
			bx, by := x, y
			if turn {
				bx, by = r.Max.X-1-(x-r.Min.X), r.Max.Y-1-(y-r.Min.Y)
			}
			sum += abs(grey(a, x, y) - grey(b, bx, by))
			n++
		}
	}
	return sum / float64(n)
}

func grey(img image.Image, x, y int) float64 {
	r, g, b, _ := img.At(x, y).RGBA()
	return (float64(r) + float64(g) + float64(b)) / 3 / 257
}

func abs(v float64) float64 { return max(v, -v) }

// passthroughShown checks that capture's metrics, the edge's /api/status
// and the camera page say whether the camera passes through.
func passthroughShown(t *testing.T, capture *captureProc, edge *edgeProc, r passthroughRow) {
	t.Helper()
	want := map[bool]string{false: "0", true: "1"}[r.pass]
	if line := fmt.Sprintf("camstream_capture_camera_passthrough{camera=%q} %s", r.id, want); !strings.Contains(capture.get(t, "/metrics"), line) {
		t.Errorf("capture /metrics lacks %s", line)
	}
	_, body := edgeGet(t, edge.url+"/api/status?history=0")
	var status struct {
		Cameras []struct {
			ID          string `json:"id"`
			PassThrough *bool  `json:"passthrough"`
		} `json:"cameras"`
	}
	if err := json.Unmarshal([]byte(body), &status); err != nil {
		t.Fatalf("/api/status: %v: %s", err, body)
	}
	for _, c := range status.Cameras {
		if c.ID != r.id {
			continue
		}
		if c.PassThrough == nil || *c.PassThrough != r.pass {
			got := "missing"
			if c.PassThrough != nil {
				got = fmt.Sprint(*c.PassThrough)
			}
			t.Errorf("/api/status passthrough of %s = %s, want %v", r.id, got, r.pass)
		}
	}
	_, page := edgeGet(t, edge.url+"/cameras/"+r.id)
	if shown := strings.Contains(page, ">passthrough</span>"); shown != r.pass {
		t.Errorf("camera page shows passthrough: %v, want %v", shown, r.pass)
	}
}
