package e2e

import (
	"fmt"
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
	// Two tiles a row, each about 185 CSS px: 555 device px, covered by 640.
	capture, edge, b := phoneGrid(t, 4, 640)

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

// From nine cameras on, a phone's grid shows three a row, so each tile
// asks for a still smaller size.
func TestBrowserBigPhoneGridAsksForSmallerPictures(t *testing.T) {
	// Three tiles a row, each about 125 CSS px: 375 device px, covered by 480.
	_, _, b := phoneGrid(t, 9, 480)
	if errs := b.exceptions(); len(errs) > 0 {
		t.Errorf("JavaScript exceptions on the grid:\n%s", strings.Join(errs, "\n"))
	}
}

// From sixteen cameras on, a phone's grid shows four a row (a 4×4 split),
// each tile asking for the ladder's 320 px.
func TestBrowserFullPhoneGridAsksForSmallestPictures(t *testing.T) {
	// Four tiles a row, each about 90 CSS px: 270 device px, covered by 320.
	_, _, b := phoneGrid(t, 16, 320)
	if errs := b.exceptions(); len(errs) > 0 {
		t.Errorf("JavaScript exceptions on the grid:\n%s", strings.Join(errs, "\n"))
	}
}

// phoneGrid opens the grid of n cameras (1280×720) on a phone and checks
// that every tile is live at the ladder width want, the only size capture
// encodes for each camera besides none.
func phoneGrid(t *testing.T, n, want int) (*captureProc, *edgeProc, *browser) {
	t.Helper()
	cams := edgeTestCameras("cam", n)
	for i := range cams {
		cams[i].Width, cams[i].FPS = 1280, 5
	}
	capture := edgeStartCapture(t, cams)
	edge := edgeStartEdge(t, []string{capture.grpcAddr}, "--upstream-grace", "500ms")
	b := browserStart(t)

	b.do(t, 30*time.Second, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(3)),
		chromedp.Navigate(edge.url+"/grid"), chromedp.WaitVisible(".grid"))
	b.requireLiveImages(t, ".grid img[data-camera]", n)
	dims := fmt.Sprintf("%dx%d:", want, want*9/16)
	for _, d := range b.loadedDigests(t, ".grid img[data-camera]") {
		if !strings.HasPrefix(d, dims) {
			t.Errorf("a phone grid tile of %d shows a %s picture, want %s", n, strings.SplitN(d, ":", 2)[0], dims[:len(dims)-1])
		}
	}
	for _, cam := range cams {
		sizes := capture.camera(t, cam.ID).GetSizes()
		if len(sizes) != 1 || sizes[0].GetWidth() != int32(want) {
			t.Errorf("capture's sizes of %s with the phone grid of %d open: %v, want width %d only", cam.ID, n, sizes, want)
		}
	}
	b.screenshot(t, fmt.Sprintf("grid-phone-%d.png", n))
	return capture, edge, b
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
