package camera

import (
	"context"
	"fmt"
	"image"
	"sync"
	"sync/atomic"
	"time"

	"gocv.io/x/gocv"

	"github.com/camstream/camstream/services/capture/internal/config"
	"github.com/camstream/camstream/services/capture/internal/pace"
	"github.com/camstream/camstream/services/capture/internal/size"
	"github.com/camstream/camstream/services/capture/internal/source"
)

// subStream is a camera's sub_source: the same camera's own stream at a
// lower resolution. While a smaller size up to its width is watched, its
// loop decodes it and makes those sizes from its pictures, so a grid of
// many cameras decodes the small streams, not the main ones. It is always
// opened on demand (closed idle_timeout after the last such size's
// subscriber leaves) and reopened with backoff when lost; while it is lost
// the main stream makes those sizes again.
type subStream struct {
	src  config.Source
	wake chan struct{}
	// lastWanted is when a size it makes was last watched; lastFrame the
	// capture time of its newest frame (UnixNano both).
	lastWanted atomic.Int64
	lastFrame  atomic.Int64

	mu            sync.Mutex
	state         State
	lastErr       string
	width, height int // of its pictures, 0 before the first
	// controls: the camera has picture controls, so the sub-stream makes
	// sizes only while the main stream's picture size is known (to scale
	// them) and mismatch is empty: why it is not used at all.
	controls bool
	mismatch string
}

// SubStatus is a snapshot of a camera's sub-stream. Source is redacted.
type SubStatus struct {
	Source        string
	State         State
	Width, Height int
	LastError     string
}

// startSub starts the sub-stream loop of the settings cfg, if cfg names a
// sub_source, until ctx ends; the returned func waits for it to end.
func (c *Camera) startSub(ctx context.Context, cfg config.Camera) (wait func()) {
	if cfg.SubSource.IsZero() {
		c.sub.Store(nil)
		return func() {}
	}
	s := &subStream{src: cfg.SubSource, wake: make(chan struct{}, 1), state: StateIdle,
		controls: !cfg.Controls.IsZero()}
	c.sub.Store(s)
	var wg sync.WaitGroup
	wg.Go(func() { c.runSub(ctx, cfg, s) })
	return wg.Wait
}

// runSub is the sub-stream's loop: sessions while a size it makes is
// watched, reopened with backoff when lost, idle otherwise.
func (c *Camera) runSub(ctx context.Context, cfg config.Camera, s *subStream) {
	r := retries{bo: c.opts.NewBackoff()}
	for {
		if !s.wanted(time.Now(), c.subDemand(s), cfg.IdleTimeout) {
			c.setSubState(s, StateIdle, "")
			if !c.waitSubWanted(ctx, cfg, s) {
				return
			}
			r.streamedOnce = false
			c.setSubState(s, StateStarting, "")
		}
		streamed, err := c.subSession(ctx, cfg, s)
		if ctx.Err() != nil {
			return
		}
		state, delay := r.ended(streamed, c.opts.ResetAfter, err)
		if err == nil {
			continue // no size it makes is watched: go idle
		}
		c.log.Warn("camera sub-stream error: smaller sizes are made from the main stream meanwhile",
			"state", state.String(), "error", err, "attempt", r.failures, "retry_in", delay.Round(time.Millisecond).String())
		c.setSubState(s, state, err.Error())
		if !sleep(ctx, delay) {
			return
		}
	}
}

// subSession opens the sub-stream and makes the sizes it serves until it
// fails, ctx ends or none of them is watched any more (err == nil).
func (c *Camera) subSession(ctx context.Context, cfg config.Camera, s *subStream) (streamed time.Duration, err error) {
	var src source.Source
	var first time.Time
	defer c.endSession("sub-stream loop", &src, &first, &streamed, &err)
	src, err = c.opts.Open(ctx, s.src, source.Options{Name: cfg.Name, FPS: cfg.FPS})
	if err != nil {
		src = nil
		return 0, fmt.Errorf("sub_source: %w", err)
	}
	img, small, scratch := gocv.NewMat(), gocv.NewMat(), gocv.NewMat()
	sc := newSubControls(cfg)
	defer sc.Close()
	defer img.Close()
	defer small.Close()
	defer scratch.Close()
	var reads readClock
	watchCtx, stopWatch := context.WithCancel(ctx)
	var watcher sync.WaitGroup
	watcher.Go(func() { c.watch(watchCtx, &reads, func(quiet time.Duration) { c.subStalled(s, quiet) }) })
	defer watcher.Wait()
	defer stopWatch()
	pacer := pace.New(cfg.FPS)
	params := []int{gocv.IMWriteJpegQuality, cfg.Quality}
	read := func() error { return src.Read(ctx, &img) }
	wanted := func(now time.Time) bool { return s.wanted(now, c.subDemand(s), cfg.IdleTimeout) }
	for {
		now, ok, err := nextFrame(ctx, read, &reads, &pacer, wanted)
		if err != nil {
			return 0, fmt.Errorf("sub_source: %w", err)
		}
		if !ok {
			return 0, nil
		}
		if first.IsZero() {
			first = now
		}
		if err := c.encodeFromSub(s, sc, img, now, params, &small, &scratch); err != nil {
			return 0, err
		}
	}
}

// encodeFromSub publishes every watched size up to the sub-stream's width
// from its picture pic, captured at now: the camera's picture controls
// applied (scaled by sc), then resized and encoded once each. Nothing is
// published while the sub-stream may not make sizes (subUsable).
func (c *Camera) encodeFromSub(s *subStream, sc *subControls, pic gocv.Mat, now time.Time, params []int, small, scratch *gocv.Mat) error {
	main := c.sourceSize()
	if !c.subUsable(s, image.Pt(pic.Cols(), pic.Rows()), main) {
		return nil
	}
	pic, err := sc.apply(main, pic, now)
	if err != nil {
		return err
	}
	s.lastFrame.Store(now.UnixNano())
	c.subStreaming(s, pic.Cols(), pic.Rows())
	p := c.watched.Load()
	if p == nil {
		return nil
	}
	for _, z := range *p {
		if z.width > pic.Cols() {
			continue // the main stream makes it
		}
		h := size.Height(z.width, pic.Cols(), pic.Rows())
		if err := c.encodeSize(z, pic, h, now, params, small, scratch); err != nil {
			return fmt.Errorf("sub-stream: %w", err)
		}
	}
	return nil
}

// wanted reports whether the sub-stream should be open at now: a size it
// makes is watched (demand), or was less than idle ago.
func (s *subStream) wanted(now time.Time, demand bool, idle time.Duration) bool {
	if demand {
		s.lastWanted.Store(now.UnixNano())
		return true
	}
	last := s.lastWanted.Load()
	return last != 0 && now.Sub(time.Unix(0, last)) < idle
}

// subDemand reports whether a size the sub-stream makes is watched: one
// up to its width, or any while its width is not known yet.
func (c *Camera) subDemand(s *subStream) bool {
	p := c.watched.Load()
	if p == nil {
		return false
	}
	s.mu.Lock()
	w, blocked := s.width, c.subBlocked(s)
	s.mu.Unlock()
	if blocked != "" {
		return false
	}
	for _, z := range *p {
		if w == 0 || z.width <= w {
			return true
		}
	}
	return false
}

// waitSubWanted blocks until a size the sub-stream makes is watched; false
// when ctx ends.
func (c *Camera) waitSubWanted(ctx context.Context, cfg config.Camera, s *subStream) bool {
	for !s.wanted(time.Now(), c.subDemand(s), cfg.IdleTimeout) {
		select {
		case <-s.wake:
		case <-ctx.Done():
			return false
		}
	}
	return ctx.Err() == nil
}
