package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/test/harness"
)

// Chromium shows which camera passes through: "passthrough" beside the
// size on the camera page (after the page's script has refreshed it from
// /api/cameras) and on the status page, for the HTTP MJPEG camera with
// nothing set, and not for the same camera with a quality.
func TestBrowserPassThroughShown(t *testing.T) {
	ffmpeg := harness.RequireTool(t, "ffmpeg")
	dir, _ := passthroughFrames(t, ffmpeg, 320, 240, 15)
	file := fmt.Sprintf("cameras:\n  - id: plain\n    source: %s\n  - id: quality\n    source: %s\n    quality: 70\n",
		passthroughServeMJPEG(t, ffmpeg, dir), passthroughServeMJPEG(t, ffmpeg, dir))
	capture := captureStart(t, []string{"--config", captureConfig(t, file)})
	for _, id := range []string{"plain", "quality"} {
		capture.waitState(t, id, captureWait, camstreamv1.CameraState_CAMERA_STATE_STREAMING)
	}
	edge := edgeStartEdge(t, []string{capture.grpcAddr})
	b := browserStart(t)
	for _, tt := range []struct{ id, want string }{{"plain", "passthrough"}, {"quality", ""}} {
		b.do(t, 30*time.Second, chromedp.Navigate(edge.url+"/cameras/"+tt.id), chromedp.WaitVisible("#live"))
		time.Sleep(2500 * time.Millisecond) // past the script's first refresh of the camera's fields
		js := `document.querySelector('[data-field="passthrough"]').textContent`
		if got := b.text(t, js); got != tt.want {
			t.Errorf("camera page of %s shows %q beside the size, want %q", tt.id, got, tt.want)
		}
	}
	b.do(t, 30*time.Second, chromedp.Navigate(edge.url+"/status"), chromedp.WaitVisible(".status-card"))
	figures := func(id string) string {
		return b.text(t, fmt.Sprintf(`[...document.querySelectorAll('[data-camera=%q] dd')].map((d) => d.textContent).join(" | ")`, id))
	}
	harness.WaitFor(t, 15*time.Second, "the status page's figures of plain", func() bool {
		return strings.Contains(figures("plain"), "320×240")
	})
	if got := figures("plain"); !strings.Contains(got, "320×240 passthrough") {
		t.Errorf("status page figures of plain = %q, want its size with passthrough", got)
	}
	if got := figures("quality"); strings.Contains(got, "passthrough") {
		t.Errorf("status page figures of quality = %q, want no passthrough", got)
	}
	b.screenshot(t, "passthrough-status.png")
}
