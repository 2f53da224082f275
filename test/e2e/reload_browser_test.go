package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/test/harness"
)

// In a real browser, while capture's camera file changes: the page of a
// camera that was removed says so and its picture stops; an open list page
// shows a camera that was added, without anyone reloading it.
func TestBrowserFollowsReload(t *testing.T) {
	cam := func(id string) string { return reloadCamera(id, "test://ball", 10, 320) }
	dir, path := harness.KubeletMount(t, "cameras.yaml", map[string]string{"cameras.yaml": reloadFile(cam("cam-a"), cam("cam-b"))})
	c := captureStart(t, []string{"--config", path})
	c.waitState(t, "cam-b", captureWait, camstreamv1.CameraState_CAMERA_STATE_STREAMING)
	edge := edgeStartEdge(t, []string{c.grpcAddr})
	b := browserStart(t)

	b.do(t, 30*time.Second, chromedp.Navigate(edge.url+"/cameras/cam-b"), chromedp.WaitVisible("#live"))
	b.requireLiveImages(t, "#live", 1)
	swap := time.Now()
	harness.KubeletWrite(t, dir, map[string]string{"cameras.yaml": reloadFile(cam("cam-a"), cam("cam-c"))})
	harness.WaitFor(t, captureWait, "the camera page to say the camera was removed", func() bool {
		return b.text(t, `document.querySelector("[data-field=state]").textContent`) == "removed"
	})
	t.Logf("measure: camera page says removed %v after the swap", time.Since(swap).Round(time.Millisecond))
	if msg := b.text(t, `document.querySelector("[data-field=error]").textContent`); !strings.Contains(msg, "removed") {
		t.Errorf("the removed camera's page says %q, want that it was removed", msg)
	}
	frozen := b.digests(t, "#live")
	time.Sleep(time.Second)
	if now := b.digests(t, "#live"); now[0] != frozen[0] {
		t.Errorf("the removed camera's picture still changes")
	}
	b.screenshot(t, "camera-removed.png")

	b.do(t, 30*time.Second, chromedp.Navigate(edge.url+"/"), chromedp.WaitVisible(".cards"))
	b.requireLiveImages(t, "img[data-camera]", 2)
	swap = time.Now()
	harness.KubeletWrite(t, dir, map[string]string{"cameras.yaml": reloadFile(cam("cam-a"), cam("cam-c"), cam("cam-d"))})
	harness.WaitFor(t, captureWait, "the open list page to show the added camera", func() bool {
		return b.text(t, `Array.from(document.querySelectorAll("[data-card]")).map(c => c.dataset.card).join(",")`) == "cam-a,cam-c,cam-d"
	})
	t.Logf("measure: open list page shows the added camera %v after the swap", time.Since(swap).Round(time.Millisecond))
	b.requireLiveImages(t, "img[data-camera]", 3)
	if errs := b.exceptions(); len(errs) > 0 {
		t.Errorf("JavaScript exceptions on the pages:\n%s", strings.Join(errs, "\n"))
	}
}
