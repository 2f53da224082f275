package e2e

import (
	"bytes"
	"fmt"
	"image/jpeg"
	"regexp"
	"strconv"
	"testing"
	"time"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/test/harness"
)

// captureCounters reads samples of capture metrics from one scrape (0 for
// an absent one).
func captureCounters(t *testing.T, c *captureProc, samples ...string) []float64 {
	t.Helper()
	body := c.get(t, "/metrics")
	out := make([]float64, len(samples))
	for i, sample := range samples {
		re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` (\S+)$`)
		if m := re.FindStringSubmatch(body); m != nil {
			v, err := strconv.ParseFloat(m[1], 64)
			if err != nil {
				t.Fatalf("%s: %v", sample, err)
			}
			out[i] = v
		}
	}
	return out
}

// A 1280×720 camera behind two edges: a snapshot at ?width=320 is a
// 320×180 JPEG; 50 viewers at width 320 over both edges make capture
// encode width 320 once per frame; when the last leaves, that stops.
func TestSizesOneEncodePerFrameForManyViewers(t *testing.T) {
	capture := edgeStartCapture(t, []edgeCamera{{ID: "hd", Name: "HD", Source: "test://ball", FPS: 10, Width: 1280}})
	edges := []*edgeProc{
		edgeStartEdge(t, []string{capture.grpcAddr}, "--upstream-grace", "500ms"),
		edgeStartEdge(t, []string{capture.grpcAddr}, "--upstream-grace", "500ms"),
	}
	capture.waitState(t, "hd", captureWait, camstreamv1.CameraState_CAMERA_STATE_STREAMING)

	status, body := edgeGet(t, edges[0].url+"/cameras/hd/snapshot.jpg?width=320")
	if status != 200 {
		t.Fatalf("snapshot at width 320: %d %s", status, body)
	}
	img, err := jpeg.DecodeConfig(bytes.NewReader([]byte(body)))
	if err != nil || img.Width != 320 || img.Height != 180 {
		t.Fatalf("snapshot at width 320: %d×%d (%v), want a 320×180 JPEG", img.Width, img.Height, err)
	}

	var streams []*edgeStream
	for i := range 50 {
		w := []int{320, 390, 479}[i%3] // all snap down to 320
		s := edgeOpenStream(t, fmt.Sprintf("%s/cameras/hd/stream.mjpeg?width=%d", edges[i%2].url, w))
		p := s.next(t, 20*time.Second)
		if c, err := jpeg.DecodeConfig(bytes.NewReader(p.JPEG)); err != nil || c.Width != 320 {
			t.Fatalf("viewer at width %d got a %d px wide frame (%v), want 320", w, c.Width, err)
		}
		streams = append(streams, s)
	}
	if got := capture.subscribers(t, "hd"); got != 2 {
		t.Errorf("capture's subscribers of hd with 50 viewers on two edges = %d, want 2 (one per edge)", got)
	}
	sizes := capture.camera(t, "hd").GetSizes()
	if len(sizes) != 1 || sizes[0].GetWidth() != 320 || sizes[0].GetHeight() != 180 || sizes[0].GetSubscribers() != 2 {
		t.Errorf("ListCameras sizes of hd: %v, want width 320, height 180, 2 subscribers", sizes)
	}

	frames := `camstream_capture_frames_total{camera="hd"}`
	encodes := `camstream_capture_size_frames_total{camera="hd",width="320"}`
	c0 := captureCounters(t, capture, frames, encodes)
	time.Sleep(3 * time.Second)
	c1 := captureCounters(t, capture, frames, encodes)
	// A scrape may fall between a frame and its small encode: one either way.
	if df, de := c1[0]-c0[0], c1[1]-c0[1]; df < 10 || de < df-1 || de > df+1 {
		t.Errorf("in 3 s: %v frames, %v encodes at width 320; want one encode per frame", df, de)
	}

	for _, s := range streams {
		s.close()
	}
	harness.WaitFor(t, 30*time.Second, "capture's subscribers of hd back to 0 after the viewers left", func() bool {
		return capture.subscribers(t, "hd") == 0
	})
	c0 = captureCounters(t, capture, frames, encodes)
	time.Sleep(2 * time.Second)
	if c1 := captureCounters(t, capture, frames, encodes); c1[1] != c0[1] || c1[0]-c0[0] < 5 {
		t.Errorf("after the last viewer at width 320 left: encodes %v → %v over %v frames, want no more", c0[1], c1[1], c1[0]-c0[0])
	}
	if sizes := capture.camera(t, "hd").GetSizes(); len(sizes) != 0 {
		t.Errorf("ListCameras sizes of hd with nobody watching: %v, want none", sizes)
	}
}
