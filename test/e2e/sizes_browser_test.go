package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/camstream/camstream/test/harness"
)

// On a phone (390×844 CSS px at 3 device pixels per px) the grid's tiles
// ask for a small ladder width, not the cameras' 1280 px, and stay live;
// on the camera page the same camera comes at full size.
func TestBrowserPhoneGridAsksForSmallPictures(t *testing.T) {
	cams := edgeTestCameras("cam", 4)
	for i := range cams {
		cams[i].Width, cams[i].FPS = 1280, 5
	}
	capture := edgeStartCapture(t, cams)
	edge := edgeStartEdge(t, []string{capture.grpcAddr}, "--upstream-grace", "500ms")
	b := browserStart(t)

	b.do(t, 30*time.Second, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(3)),
		chromedp.Navigate(edge.url+"/grid"), chromedp.WaitVisible(".grid"))
	b.requireLiveImages(t, ".grid img[data-camera]", 4)
	// Two tiles a row, each about 185 CSS px: 555 device px, covered by 640.
	for _, d := range b.loadedDigests(t, ".grid img[data-camera]") {
		if !strings.HasPrefix(d, "640x360:") {
			t.Errorf("a phone grid tile shows a %s picture, want 640x360", strings.SplitN(d, ":", 2)[0])
		}
	}
	for _, cam := range cams {
		sizes := capture.camera(t, cam.ID).GetSizes()
		if len(sizes) != 1 || sizes[0].GetWidth() != 640 {
			t.Errorf("capture's sizes of %s with the phone grid open: %v, want width 640 only", cam.ID, sizes)
		}
	}
	b.screenshot(t, "grid-phone.png")

	b.do(t, 30*time.Second, chromedp.Navigate(edge.url+"/cameras/cam-1"), chromedp.WaitVisible("#live"))
	b.requireLiveImages(t, "#live", 1)
	if d := b.loadedDigests(t, "#live")[0]; !strings.HasPrefix(d, "1280x720:") {
		t.Errorf("the camera page shows a %s picture, want the full 1280x720", strings.SplitN(d, ":", 2)[0])
	}
	harness.WaitFor(t, 30*time.Second, "the grid's small sizes to stop after leaving it", func() bool {
		return len(capture.camera(t, "cam-2").GetSizes()) == 0
	})
	if errs := b.exceptions(); len(errs) > 0 {
		t.Errorf("JavaScript exceptions on the pages:\n%s", strings.Join(errs, "\n"))
	}
}

// loadedDigests is digests at a moment when every image has a picture: an
// image reads as none while its next frame is loading.
func (b *browser) loadedDigests(t *testing.T, selector string) []string {
	t.Helper()
	var got []string
	harness.WaitFor(t, 20*time.Second, "every image "+selector+" with a picture at once", func() bool {
		got = b.digests(t, selector)
		for _, d := range got {
			if d == "" {
				return false
			}
		}
		return len(got) > 0
	})
	return got
}
