package camera

import (
	"context"
	"image"
	"image/color"
	"strings"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/camstream/camstream/services/capture/internal/config"
	"github.com/camstream/camstream/services/capture/internal/source"
)

// painted is a fake source whose pictures are one colour: which stream
// a frame was made from shows outside the mask.
type painted struct {
	*fake
	col color.RGBA
}

func (p painted) Read(ctx context.Context, dst *gocv.Mat) error {
	if err := p.fake.Read(ctx, dst); err != nil {
		return err
	}
	dst.SetTo(gocv.NewScalar(float64(p.col.B), float64(p.col.G), float64(p.col.R), 0))
	return nil
}

var (
	mainRed  = color.RGBA{R: 200, G: 30, B: 30, A: 255}
	subGreen = color.RGBA{R: 30, G: 200, B: 30, A: 255}
)

// controlsSubCamera is a camera with a brown mask and rotate 180 whose
// main stream is red 640×360 and whose sub-stream is green and subSize.
func controlsSubCamera(t *testing.T, onDemand bool, subSize image.Point) (c *Camera, main, sub *opener, mask image.Rectangle, brown color.RGBA) {
	t.Helper()
	main = &opener{make: func() *fake { return &fake{interval: 5 * time.Millisecond, size: image.Pt(640, 360)} }}
	sub = &opener{make: func() *fake { return &fake{interval: 5 * time.Millisecond, size: subSize} }}
	opts := quietOptions()
	opts.Open = func(ctx context.Context, src config.Source, o source.Options) (source.Source, error) {
		op, col := main, mainRed
		if src.Pattern == config.PatternSMPTE {
			op, col = sub, subGreen
		}
		s, err := op.open(ctx, src, o)
		if err != nil {
			return nil, err
		}
		return painted{s.(*fake), col}, nil
	}
	cfg, mask, brown := maskedCamera(t)
	cfg.Source, _ = config.ParseSource("test://ball")
	cfg.SubSource, _ = config.ParseSource("test://smpte")
	cfg.Controls.Rotate = 180
	cfg.OnDemand = onDemand
	cfg.IdleTimeout = 200 * time.Millisecond
	c = New(cfg, opts)
	run(t, c)
	return c, main, sub, mask, brown
}

// nextImage returns the next frame of feed after *last, decoded.
func nextImage(t *testing.T, feed Feed, last *uint64) image.Image {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	f, err := feed.Next(ctx, *last)
	if err != nil {
		t.Fatalf("frame at width %d: %v", feed.Width, err)
	}
	*last = f.Seq
	return decode(t, f.JPEG)
}

// outside is a pixel of a 160-wide frame outside the mask.
var outside = image.Pt(150, 80)

// Frames the sub-stream makes have the camera's controls, scaled to it:
// the mask is uniformly its colour.
func TestSubStreamFramesMasked(t *testing.T) {
	c, _, sub, mask, brown := controlsSubCamera(t, false, image.Pt(320, 180))
	feed, release, err := c.SubscribeWidth(160)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	var last uint64
	deadline := time.Now().Add(wait)
	for fromSub := 0; fromSub < 5; {
		if time.Now().After(deadline) {
			t.Fatalf("no frames at width 160 from the sub-stream (sub status %+v)", c.Status().Sub)
		}
		img := nextImage(t, feed, &last)
		if got := img.Bounds().Size(); got != image.Pt(160, 90) {
			t.Fatalf("frame at width 160 is %v, want 160×90", got)
		}
		checkMasked(t, "width 160", img, 640, mask, brown)
		if near(img.At(outside.X, outside.Y), subGreen, 24) {
			fromSub++
		}
	}
	if st := c.Status().Sub; st == nil || st.State != StateStreaming || st.LastError != "" || sub.count() != 1 {
		t.Errorf("sub status %+v after %d opens, want streaming once, no error", st, sub.count())
	}
}

// Until the main stream's picture size is known, the controls cannot be
// scaled: an on-demand camera's small sizes come from the main stream.
func TestSubStreamWaitsForMainSize(t *testing.T) {
	c, main, sub, mask, brown := controlsSubCamera(t, true, image.Pt(320, 180))
	time.Sleep(50 * time.Millisecond)
	if st := c.Status().Sub; st == nil || !strings.Contains(st.LastError, "picture size is not known") {
		t.Errorf("sub status before any frame = %+v, want it to say the main stream's size is not known", st)
	}
	feed, release, err := c.SubscribeWidth(160)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	var last uint64
	img := nextImage(t, feed, &last)
	if col := img.At(outside.X, outside.Y); !near(col, mainRed, 24) {
		t.Fatalf("first frame at width 160: pixel %v = %v, want the main stream's %v (%d main, %d sub opens)",
			outside, col, mainRed, main.count(), sub.count())
	}
	checkMasked(t, "first frame at width 160", img, 640, mask, brown)
	for deadline := time.Now().Add(wait); !near(img.At(outside.X, outside.Y), subGreen, 24); {
		if time.Now().After(deadline) {
			t.Fatalf("frames at width 160 never came from the sub-stream (sub status %+v)", c.Status().Sub)
		}
		img = nextImage(t, feed, &last)
		checkMasked(t, "width 160", img, 640, mask, brown)
	}
	waitState(t, c, StateIdle) // the main stream closes once the sub-stream makes the size
}

// A sub-stream whose aspect ratio differs from the main stream's is not
// used: the main stream makes the small sizes and the status says why.
func TestSubStreamAspectMismatchUsesMain(t *testing.T) {
	c, _, sub, mask, brown := controlsSubCamera(t, false, image.Pt(320, 240))
	feed, release, err := c.SubscribeWidth(160)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	waitFor(t, "the sub-stream to be judged", func() bool {
		st := c.Status().Sub
		return st != nil && strings.Contains(st.LastError, "aspect ratio")
	})
	var last uint64
	for range 20 {
		img := nextImage(t, feed, &last)
		if got := img.Bounds().Size(); got != image.Pt(160, 90) {
			t.Fatalf("frame at width 160 is %v, want 160×90 from the main stream", got)
		}
		if col := img.At(outside.X, outside.Y); !near(col, mainRed, 24) {
			t.Fatalf("frame at width 160: pixel %v = %v, want the main stream's %v", outside, col, mainRed)
		}
		checkMasked(t, "width 160", img, 640, mask, brown)
	}
	if st := c.Status().Sub; st.State != StateIdle || sub.count() != 1 {
		t.Errorf("sub status %+v after %d opens, want idle after one", st, sub.count())
	}
}

// waitSubFrame reads frames of feed until one comes from the sub-stream
// (green outside the masks) and returns it.
func waitSubFrame(t *testing.T, c *Camera, feed Feed, last *uint64) image.Image {
	t.Helper()
	for deadline := time.Now().Add(wait); ; {
		if time.Now().After(deadline) {
			t.Fatalf("no frame at width %d from the sub-stream (sub status %+v)", feed.Width, c.Status().Sub)
		}
		if img := nextImage(t, feed, last); near(img.At(outside.X, outside.Y), subGreen, 24) {
			return img
		}
	}
}

// A reload that moves the mask restarts the camera: the sub-stream's
// frames then have the new mask.
func TestSubStreamControlsFollowReload(t *testing.T) {
	c, _, _, mask, brown := controlsSubCamera(t, false, image.Pt(320, 180))
	feed, release, err := c.SubscribeWidth(160)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	var last uint64
	checkMasked(t, "before the reload", waitSubFrame(t, c, feed, &last), 640, mask, brown)
	moved := image.Rect(200, 40, 560, 320)
	cfg := c.Config()
	cfg.Controls.Masks = []config.Mask{{Rect: moved, Color: brown}}
	c.Reconfigure(cfg)
	for deadline := time.Now().Add(wait); ; {
		if time.Now().After(deadline) {
			t.Fatalf("the sub-stream's frames never got the moved mask %v", moved)
		}
		img := waitSubFrame(t, c, feed, &last)
		if near(img.At(130, 40), brown, 12) { // in the moved mask only
			checkMasked(t, "after the reload", img, 640, moved, brown)
			break
		}
	}
}

// Controls that do not fit the main stream's pictures fail the camera,
// and the sub-stream makes nothing either: scaled, they would be clipped.
func TestSubStreamNotUsedWhenControlsDoNotFit(t *testing.T) {
	c, _, _, _, _ := controlsSubCamera(t, false, image.Pt(320, 180))
	cfg := c.Config()
	cfg.Controls.Masks = append(cfg.Controls.Masks, config.Mask{Rect: image.Rect(600, 300, 700, 400)})
	c.Reconfigure(cfg)
	waitState(t, c, StateFailed)
	feed, release, err := c.SubscribeWidth(160)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if f, err := feed.Next(ctx, 0); err == nil {
		t.Fatalf("got a %d×%d frame at width 160 though the mask does not fit (sub status %+v)", f.Width, f.Height, c.Status().Sub)
	}
	if st := c.Status().Sub; st == nil || !strings.Contains(st.LastError, "picture size is not known") {
		t.Errorf("sub status = %+v, want it to say the main stream's size is not known", st)
	}
	if !c.Unavailable(160) {
		t.Error("Unavailable(160) = false, want true: neither stream can make it")
	}
}

// A polygon mask is scaled to the sub-stream too.
func TestSubStreamFramesPolygonMasked(t *testing.T) {
	c, _, _, _, brown := controlsSubCamera(t, false, image.Pt(320, 180))
	cfg := c.Config()
	poly := []image.Point{{8, 8}, {360, 8}, {360, 280}, {8, 280}}
	cfg.Controls.Masks = []config.Mask{{Points: poly, Color: brown}}
	c.Reconfigure(cfg)
	feed, release, err := c.SubscribeWidth(160)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	var last uint64
	for range 5 {
		img := waitSubFrame(t, c, feed, &last)
		checkMasked(t, "polygon at width 160", img, 640, image.Rect(8, 8, 361, 281), brown)
	}
}
