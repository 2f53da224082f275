package camera

import (
	"context"
	"errors"
	"image"
	"strings"
	"testing"
	"time"

	"github.com/camstream/camstream/services/capture/internal/config"
	"github.com/camstream/camstream/services/capture/internal/source"
)

// subCamera is an on-demand camera whose main stream is 640×360 (16:9)
// and whose sub-stream is 320×240 (4:3): a smaller size's height tells
// which of the two it was made from.
type subCamera struct {
	c         *Camera
	main, sub *opener
}

func newSubCamera(t *testing.T, onDemand bool, sub *opener) subCamera {
	t.Helper()
	main := &opener{make: func() *fake { return &fake{interval: 5 * time.Millisecond, size: image.Pt(640, 360)} }}
	if sub == nil {
		sub = &opener{make: func() *fake { return &fake{interval: 5 * time.Millisecond, size: image.Pt(320, 240)} }}
	}
	opts := quietOptions()
	opts.Open = func(ctx context.Context, src config.Source, o source.Options) (source.Source, error) {
		if src.Pattern == config.PatternSMPTE {
			return sub.open(ctx, src, o)
		}
		return main.open(ctx, src, o)
	}
	cfg := testCamera(t, "cam", "test://ball")
	subSrc, err := config.ParseSource("test://smpte")
	if err != nil {
		t.Fatal(err)
	}
	cfg.SubSource = subSrc
	cfg.OnDemand = onDemand
	cfg.IdleTimeout = 200 * time.Millisecond
	c := New(cfg, opts)
	run(t, c)
	return subCamera{c: c, main: main, sub: sub}
}

// feedSizes reads n frames of feed and returns their sizes.
func feedSizes(t *testing.T, feed Feed, n int) []image.Point {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var out []image.Point
	var last uint64
	for range n {
		f, err := feed.Next(ctx, last)
		if err != nil {
			t.Fatalf("frame %d of %d at width %d: %v", len(out)+1, n, feed.Width, err)
		}
		last = f.Seq
		out = append(out, image.Pt(f.Width, f.Height))
	}
	return out
}

// lastSizes waits for frames of feed until k in a row are of want.
func waitSize(t *testing.T, feed Feed, want image.Point) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for run := 0; run < 5; {
		if time.Now().After(deadline) {
			t.Fatalf("frames at width %d never settled at %v", feed.Width, want)
		}
		if feedSizes(t, feed, 1)[0] == want {
			run++
		} else {
			run = 0
		}
	}
}

func subState(c *Camera) State {
	if st := c.Status().Sub; st != nil {
		return st.State
	}
	return 0
}

func TestSubStreamOpensOnlyWhileSmallSizeWatched(t *testing.T) {
	sc := newSubCamera(t, true, nil)
	time.Sleep(100 * time.Millisecond)
	if sc.main.count() != 0 || sc.sub.count() != 0 || subState(sc.c) != StateIdle {
		t.Fatalf("unwatched: %d main opens, %d sub opens, sub state %v; want 0, 0, idle", sc.main.count(), sc.sub.count(), subState(sc.c))
	}
	feed, release, err := sc.c.SubscribeWidth(160)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range feedSizes(t, feed, 20) {
		if p != image.Pt(160, 120) {
			t.Fatalf("frame %d at width 160 is %v, want 160x120 (made from the 4:3 sub-stream)", i, p)
		}
	}
	if f, fresh := feed.Latest(); f == nil || !fresh {
		t.Errorf("Latest at width 160 = %v, fresh %v; want the sub-stream's fresh frame", f, fresh)
	}
	st := sc.c.Status()
	if st.Sub == nil || st.Sub.State != StateStreaming || st.Sub.Width != 320 || st.Sub.Height != 240 {
		t.Errorf("sub status = %+v, want streaming 320x240", st.Sub)
	}
	if sc.main.count() != 0 || st.State != StateIdle {
		t.Errorf("main stream: %d opens, state %v; want 0 opens, idle (only a small size is watched)", sc.main.count(), st.State)
	}
	release()
	waitFor(t, "the sub-stream to go idle", func() bool { return subState(sc.c) == StateIdle })
	if !sc.sub.lastSource().closed.Load() {
		t.Error("sub-stream still open after it went idle")
	}
	time.Sleep(300 * time.Millisecond) // past idle_timeout
	if n := sc.main.count(); n != 0 {
		t.Errorf("main stream opened %d times after the small viewer left, want 0", n)
	}
	if n := sc.sub.count(); n != 1 {
		t.Errorf("sub-stream opened %d times, want 1", n)
	}
}

func TestSubStreamSizesAboveItsWidthFromMain(t *testing.T) {
	sc := newSubCamera(t, true, nil)
	small, releaseSmall, err := sc.c.SubscribeWidth(160)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseSmall()
	waitSize(t, small, image.Pt(160, 120))
	large, releaseLarge, err := sc.c.SubscribeWidth(480) // above the sub-stream's 320
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range feedSizes(t, large, 10) {
		if p != image.Pt(480, 270) {
			t.Fatalf("frame %d at width 480 is %v, want 480x270 (made from the 16:9 main stream)", i, p)
		}
	}
	for i, p := range feedSizes(t, small, 10) {
		if p != image.Pt(160, 120) {
			t.Fatalf("frame %d at width 160 while 480 is watched is %v, want 160x120 (still from the sub-stream)", i, p)
		}
	}
	if st := sc.c.State(); st != StateStreaming {
		t.Errorf("main state with a 480 viewer = %v, want streaming", st)
	}
	releaseLarge()
	waitState(t, sc.c, StateIdle) // the main stream closes; the sub-stream goes on
	waitSize(t, small, image.Pt(160, 120))
}

func TestSubStreamFailureFallsBackToMain(t *testing.T) {
	sub := &opener{fail: errors.New("sub refused")}
	sc := newSubCamera(t, true, sub)
	feed, release, err := sc.c.SubscribeWidth(160)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	waitSize(t, feed, image.Pt(160, 90)) // from the 16:9 main stream
	st := sc.c.Status()
	if st.Sub == nil || st.Sub.State != StateFailed || st.Sub.LastError == "" {
		t.Errorf("sub status = %+v, want failed with its error", st.Sub)
	}
	if st.State != StateStreaming {
		t.Errorf("main state = %v, want streaming (the fallback)", st.State)
	}
	if f, fresh := feed.Latest(); f == nil || !fresh {
		t.Errorf("Latest at width 160 = %v, fresh %v; want the main stream's fresh frame", f, fresh)
	}
}

func TestSubStreamLossFallsBackAndReturns(t *testing.T) {
	sub := &opener{make: func() *fake {
		return &fake{interval: 5 * time.Millisecond, size: image.Pt(320, 240), failAfter: 40}
	}}
	sc := newSubCamera(t, false, sub)
	feed, release, err := sc.c.SubscribeWidth(160)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	// From the sub-stream, from the main stream while the lost sub-stream
	// reconnects, and from the sub-stream again.
	for _, want := range []image.Point{{160, 120}, {160, 90}, {160, 120}} {
		deadline := time.Now().Add(wait)
		for feedSizes(t, feed, 1)[0] != want {
			if time.Now().After(deadline) {
				t.Fatalf("no frame of %v at width 160 (%d sub opens, sub %+v)", want, sub.count(), sc.c.Status().Sub)
			}
		}
	}
	if sub.count() < 2 {
		t.Errorf("sub-stream opened %d times, want it reopened after the loss", sub.count())
	}
}

// A reload that changes the sub_source restarts the camera with the new
// one; one that removes it makes the small sizes from the main stream.
// The small viewer stays subscribed throughout.
func TestSubSourceChangedByReload(t *testing.T) {
	sizes := map[string]image.Point{"test://ball": {640, 360}, "test://smpte": {320, 240}, "rtsp://cam/s2": {256, 256}}
	opts := quietOptions()
	opts.Open = func(ctx context.Context, src config.Source, o source.Options) (source.Source, error) {
		return &fake{interval: 5 * time.Millisecond, size: sizes[src.Raw()]}, nil
	}
	cfg := testCamera(t, "cam", "test://ball")
	parse := func(s string) config.Source {
		src, err := config.ParseSource(s)
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	cfg.SubSource = parse("test://smpte")
	c := New(cfg, opts)
	run(t, c)
	feed, release, err := c.SubscribeWidth(160)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	waitSize(t, feed, image.Pt(160, 120))

	cfg.SubSource = parse("rtsp://cam/s2")
	if cfg.Equal(c.Config()) {
		t.Fatal("a changed sub_source: Equal = true, want false")
	}
	c.Reconfigure(cfg)
	waitSize(t, feed, image.Pt(160, 160))
	if st := c.Status().Sub; st == nil || st.Source != "rtsp://cam/s2" || st.Width != 256 {
		t.Errorf("sub status after the reload = %+v, want rtsp://cam/s2 at 256 px", st)
	}

	cfg.SubSource = config.Source{}
	c.Reconfigure(cfg)
	waitSize(t, feed, image.Pt(160, 90))
	if st := c.Status().Sub; st != nil {
		t.Errorf("sub status without a sub_source = %+v, want none", st)
	}
}

// A sub-stream that stalls with its connection open is reported
// reconnecting by the watchdog; an on-demand camera's main stream makes
// the small size meanwhile, and the sub-stream takes it back when its
// frames resume.
func TestSubStreamStallFallsBackToMain(t *testing.T) {
	resume := make(chan struct{})
	sub := &opener{make: func() *fake {
		return &fake{interval: 5 * time.Millisecond, size: image.Pt(320, 240), stallEvery: 30, resume: resume}
	}}
	main := &opener{make: func() *fake { return &fake{interval: 5 * time.Millisecond, size: image.Pt(640, 360)} }}
	opts := quietOptions()
	opts.StallAfter = 200 * time.Millisecond
	opts.Open = func(ctx context.Context, src config.Source, o source.Options) (source.Source, error) {
		if src.Pattern == config.PatternSMPTE {
			return sub.open(ctx, src, o)
		}
		return main.open(ctx, src, o)
	}
	cfg := testCamera(t, "cam", "test://ball")
	cfg.SubSource, _ = config.ParseSource("test://smpte")
	cfg.OnDemand, cfg.IdleTimeout = true, 200*time.Millisecond
	c := New(cfg, opts)
	run(t, c)
	feed, release, err := c.SubscribeWidth(160)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	waitSize(t, feed, image.Pt(160, 120))
	waitSize(t, feed, image.Pt(160, 90)) // the 30th read stalls
	if st := c.Status().Sub; st == nil || st.State != StateReconnecting || !strings.Contains(st.LastError, "stalled") {
		t.Errorf("sub status while stalled = %+v, want reconnecting, stalled", st)
	}
	close(resume) // and no more stalls
	waitSize(t, feed, image.Pt(160, 120))
	waitState(t, c, StateIdle) // the main stream closes again
	if n := sub.count(); n != 1 {
		t.Errorf("sub-stream opened %d times, want 1 (a stall is not a loss)", n)
	}
}
