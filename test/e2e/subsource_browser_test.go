package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
)

// An on-demand camera with a sub_source, watched only in the small tiles
// of the camera list and the grid: the tiles are fed by the sub-stream
// (640×360) and the main stream stays idle. Each tile's badge says what
// its viewer sees, streaming, and its title where from; the status page
// keeps the main stream's state beside its own sub-stream row.
func TestBrowserTilesShowSubStreamState(t *testing.T) {
	_, capture, edge := subSourceStart(t)
	b := browserStart(t)
	const img = `img[data-camera="door"]`
	const badge = `document.querySelector('[data-card="door"] [data-field="state"]')`
	for _, page := range []struct{ path, name string }{{"/", "list"}, {"/grid", "grid"}} {
		path := page.path
		b.do(t, 30*time.Second, chromedp.Navigate(edge.url+path), chromedp.WaitVisible(img))
		b.requireLiveImages(t, img, 1)
		// The page polls the states every 2 s: give it several polls.
		var class, title string
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			class, title = b.text(t, badge+".className"), b.text(t, badge+".title")
			if class == "state streaming" && strings.Contains(title, "sub-stream streaming 640×360") {
				break
			}
		}
		if class != "state streaming" || !strings.Contains(title, "sub-stream streaming 640×360") || !strings.Contains(title, "main stream idle") {
			t.Errorf("%s: badge of a tile fed by the streaming sub-stream: class %q, title %q; want \"state streaming\", titled from the sub-stream streaming 640×360 with the main stream idle", path, class, title)
		}
		b.screenshot(t, "tiles-substream-"+page.name+".png")
		cam := capture.camera(t, "door")
		if cam.GetState() != camstreamv1.CameraState_CAMERA_STATE_IDLE ||
			cam.GetSubStream().GetState() != camstreamv1.CameraState_CAMERA_STATE_STREAMING {
			t.Fatalf("%s: camera %v with sub_stream %v; want the main stream idle and the tiles fed by the sub-stream", path, cam.GetState(), cam.GetSubStream())
		}
	}
	if errs := b.exceptions(); len(errs) > 0 {
		t.Errorf("page exceptions: %v", errs)
	}
	b.do(t, 30*time.Second, chromedp.Navigate(edge.url+"/status"), chromedp.WaitVisible(".status-card"))
	const card = `document.querySelector('.status-card[data-camera="door"]').innerText`
	var text string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if text = b.text(t, card); strings.Contains(text, "sub-stream") {
			break
		}
	}
	if !strings.Contains(strings.ToLower(text), "idle") || !strings.Contains(text, "sub-stream") {
		t.Errorf("status card = %q, want the main stream's state (idle) and a sub-stream row", text)
	}
}
