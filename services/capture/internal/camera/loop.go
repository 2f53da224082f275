package camera

import (
	"context"
	"fmt"
	"image"
	"math"
	"runtime/debug"
	"sync"
	"time"

	"gocv.io/x/gocv"

	"github.com/camstream/camstream/services/capture/internal/backoff"
	"github.com/camstream/camstream/services/capture/internal/config"
	"github.com/camstream/camstream/services/capture/internal/hub"
	"github.com/camstream/camstream/services/capture/internal/pace"
	"github.com/camstream/camstream/services/capture/internal/picture"
	"github.com/camstream/camstream/services/capture/internal/source"
)

// Run is the capture loop. It returns when ctx ends, with the source
// closed. Reconfigure ends the current settings' loop, source closed, and
// Run starts over with the new ones; the hub, and so every subscriber,
// stays.
func (c *Camera) Run(ctx context.Context) {
	for first := true; ctx.Err() == nil; first = false {
		cfg, settings, cancel := c.begin(ctx)
		if !first {
			c.restarted()
		}
		c.mainSize.Store(0) // the new settings' source may differ
		waitSub := c.startSub(settings, cfg)
		c.runSettings(settings, cfg)
		cancel()
		waitSub()
	}
}

// begin returns the current settings and a context that Reconfigure ends.
func (c *Camera) begin(ctx context.Context) (config.Camera, context.Context, context.CancelFunc) {
	settings, cancel := context.WithCancel(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.restart = cancel
	return c.cfg, settings, cancel
}

// runSettings runs the loop with one camera configuration until ctx ends:
// sessions of the source, reopened with backoff when lost, or none while
// an on-demand camera is not wanted.
func (c *Camera) runSettings(ctx context.Context, cfg config.Camera) {
	r := retries{bo: c.opts.NewBackoff()}
	for {
		if cfg.OnDemand && !c.wanted(time.Now(), cfg) {
			c.setState(StateIdle, "")
			if !c.waitWanted(ctx, cfg) {
				return
			}
			r.streamedOnce = false
			c.setState(StateStarting, "")
		}
		streamed, err := c.session(ctx, cfg)
		if ctx.Err() != nil {
			return
		}
		state, delay := r.ended(streamed, c.opts.ResetAfter, err)
		if err == nil {
			continue // an on-demand camera nobody watches: go idle
		}
		if streamed > 0 {
			c.mu.Lock()
			c.reconnects++
			c.mu.Unlock()
		}
		c.log.Warn("camera source error", "state", state.String(), "error", err,
			"attempt", r.failures, "retry_in", delay.Round(time.Millisecond).String())
		c.setState(state, err.Error())
		if !sleep(ctx, delay) {
			return
		}
	}
}

// retries counts a source's failed sessions in a row and times its
// reopening with backoff.
type retries struct {
	bo           *backoff.Backoff
	failures     int  // failed sessions in a row
	streamedOnce bool // since start, or since the source was last idle
}

// ended records a session that streamed for streamed and ended with err.
// For a failed one (err set) it returns the state to report, reconnecting
// or, when the source never streamed or failed too often in a row,
// failed, and how long to wait before the next session.
func (r *retries) ended(streamed, resetAfter time.Duration, err error) (State, time.Duration) {
	if streamed > 0 {
		r.streamedOnce, r.failures = true, 0
	}
	if streamed >= resetAfter {
		r.bo.Reset()
	}
	if err == nil {
		return 0, 0
	}
	r.failures++
	state := StateReconnecting
	if !r.streamedOnce || r.failures > failedAfter {
		state = StateFailed
	}
	return state, r.bo.Next()
}

// session opens the source and captures until the source fails, ctx ends
// or an on-demand camera is no longer wanted (err == nil). streamed is how
// long frames flowed. A panic is recovered and returned as this camera's
// error: one broken camera never takes the others down.
func (c *Camera) session(ctx context.Context, cfg config.Camera) (streamed time.Duration, err error) {
	var src source.Source
	var first time.Time
	defer c.endSession("capture loop", &src, &first, &streamed, &err)
	src, err = c.opts.Open(ctx, cfg.Source, source.Options{Name: cfg.Name, Width: cfg.Width, FPS: cfg.FPS,
		JPEG: cfg.PassThrough()})
	if err != nil {
		src = nil
		return 0, err
	}
	m := newMats()
	defer m.Close()
	controls := picture.New(cfg)
	defer controls.Close()
	var reads readClock
	watchCtx, stopWatch := context.WithCancel(ctx)
	var watcher sync.WaitGroup
	watcher.Go(func() { c.watch(watchCtx, &reads, c.stalled) })
	defer watcher.Wait()
	defer stopWatch()
	if done, err := c.tryPassThrough(ctx, cfg, src, &reads, &first); done {
		return 0, err
	}
	return 0, c.decode(ctx, cfg, src, m, controls, &reads, &first)
}

// mats are the pictures a session reuses from frame to frame.
type mats struct{ img, resized, small, scratch gocv.Mat }

func newMats() *mats {
	return &mats{img: gocv.NewMat(), resized: gocv.NewMat(), small: gocv.NewMat(), scratch: gocv.NewMat()}
}

// Close releases the pictures.
func (m *mats) Close() {
	m.img.Close()
	m.resized.Close()
	m.small.Close()
	m.scratch.Close()
}

// decode reads, decodes and publishes frames until the source fails (its
// error), ctx ends or an on-demand camera is no longer wanted (nil): each
// frame the pacer lets through gets the picture controls, then is encoded
// at full size and at every watched smaller size. first is set at the
// first published frame.
func (c *Camera) decode(ctx context.Context, cfg config.Camera, src source.Source, m *mats,
	controls *picture.Pipeline, reads *readClock, first *time.Time) error {
	pacer := pace.New(cfg.FPS)
	params := []int{gocv.IMWriteJpegQuality, cfg.Quality}
	read := func() error { return src.Read(ctx, &m.img) }
	wanted := c.wantedFunc(cfg)
	for {
		now, ok, err := nextFrame(ctx, read, reads, &pacer, wanted)
		if !ok {
			return err
		}
		shown, err := controls.Apply(m.img, now)
		if err != nil {
			c.mainSize.Store(0) // the controls do not fit it: nor the sub-stream's
			return err
		}
		c.sourceSized(m.img.Cols(), m.img.Rows())
		out := fit(shown, &m.resized, cfg.Width)
		f, err := c.publishFull(out, now, params)
		if err != nil {
			return err
		}
		if first.IsZero() {
			*first = now
		}
		if err := c.encodeSizes(out, f, params, &m.small, &m.scratch); err != nil {
			return err
		}
	}
}

// publishFull encodes out, the full-size picture captured at now, and
// publishes it to the camera's subscribers.
func (c *Camera) publishFull(out gocv.Mat, now time.Time, params []int) (*hub.Frame, error) {
	start := time.Now()
	jpeg, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, out, params)
	encode := time.Since(start)
	if err != nil || len(jpeg) == 0 {
		return nil, fmt.Errorf("encode JPEG: %v", err)
	}
	f := &hub.Frame{JPEG: jpeg, Width: out.Cols(), Height: out.Rows(), CapturedAt: now}
	c.hub.Publish(f)
	c.published(f)
	if c.opts.Observer != nil {
		c.opts.Observer.FrameEncoded(c.id, encode, len(jpeg))
	}
	return f, nil
}

// endSession is deferred by a session of a camera's source (what names it
// in errors): it turns a panic into the session's error, closes the source
// and sets streamed, how long frames flowed since first.
func (c *Camera) endSession(what string, src *source.Source, first *time.Time, streamed *time.Duration, err *error) {
	if r := recover(); r != nil {
		c.log.Error(what+" panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		*err = fmt.Errorf("%s panicked: %v", what, r)
	}
	if *src != nil {
		(*src).Close()
	}
	if !first.IsZero() {
		*streamed = time.Since(*first)
	}
}

// nextFrame reads with read until a frame is due and returns when it was
// read (ok). Each read ticks reads, for the stall watchdog; frames over the
// pacer's cap are skipped. ok is false with a nil error when ctx ends or
// wanted says the stream is no longer needed, and with read's error when
// the source fails.
func nextFrame(ctx context.Context, read func() error, reads *readClock, pacer *pace.Pacer,
	wanted func(time.Time) bool) (now time.Time, ok bool, err error) {
	for {
		if err := read(); err != nil {
			if ctx.Err() != nil {
				return now, false, nil
			}
			return now, false, err
		}
		now = time.Now()
		reads.tick(now)
		if !wanted(now) {
			return now, false, nil
		}
		if pacer.Allow(now) {
			return now, true, nil
		}
	}
}

// wantedFunc is whether the main stream is still needed at a time: always,
// unless the camera is on demand and nobody watches it.
func (c *Camera) wantedFunc(cfg config.Camera) func(time.Time) bool {
	return func(now time.Time) bool { return !cfg.OnDemand || c.wanted(now, cfg) }
}

// fit returns img resized to the configured width w into resized, keeping
// the aspect ratio, or img itself when w is 0 or its width already.
func fit(img gocv.Mat, resized *gocv.Mat, w int) gocv.Mat {
	if w <= 0 || img.Cols() == w {
		return img
	}
	h := int(math.Round(float64(img.Rows()) * float64(w) / float64(img.Cols())))
	interp := gocv.InterpolationArea // best for shrinking
	if w > img.Cols() {
		interp = gocv.InterpolationLinear
	}
	gocv.Resize(img, resized, image.Pt(w, max(h, 1)), 0, 0, interp)
	return *resized
}

// wanted reports whether an on-demand camera should be open: it has
// subscribers the sub-stream does not serve, or had one less than
// idle_timeout ago.
func (c *Camera) wanted(now time.Time, cfg config.Camera) bool {
	if c.subs.Load() > c.subTaken() {
		return true
	}
	left := c.lastLeave.Load()
	return left != 0 && now.Sub(time.Unix(0, left)) < cfg.IdleTimeout
}

// waitWanted blocks until the camera has a subscriber; false when ctx ends.
func (c *Camera) waitWanted(ctx context.Context, cfg config.Camera) bool {
	for !c.wanted(time.Now(), cfg) {
		select {
		case <-c.wake:
		case <-ctx.Done():
			return false
		}
	}
	return ctx.Err() == nil
}

// sleep waits for d; false when ctx ends first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
