// Package camera runs one capture loop per camera. The loop owns the
// camera's source: it reads a frame, resizes it, caps the frame rate,
// encodes it to JPEG once and publishes it as the camera's latest frame for
// every subscriber. It reopens a lost source with backoff, opens on-demand
// cameras on their first subscriber and closes them when the last leaves,
// and keeps the state, the last error and the measured frame rate.
package camera

import (
	"context"
	"fmt"
	"image"
	"log/slog"
	"math"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"gocv.io/x/gocv"

	"github.com/camstream/camstream/services/capture/internal/backoff"
	"github.com/camstream/camstream/services/capture/internal/config"
	"github.com/camstream/camstream/services/capture/internal/hub"
	"github.com/camstream/camstream/services/capture/internal/pace"
	"github.com/camstream/camstream/services/capture/internal/source"
)

const (
	// failedAfter is how many reopen attempts in a row may fail before a
	// reconnecting camera is reported failed (about 15 s of trying).
	failedAfter = 5
	// defaultResetAfter is how long a source must stream before a later
	// loss starts the backoff again from its shortest delay.
	defaultResetAfter = 30 * time.Second
	// rateWindow is how often the measured frame rate is updated; a camera
	// without a frame for staleAfter reports 0 fps.
	rateWindow = 2 * time.Second
	staleAfter = 3 * time.Second
	// defaultStallAfter is the shortest time without a frame after which a
	// streaming camera is reported reconnecting; a slow source gets
	// stallIntervals of its own frame interval.
	defaultStallAfter = 2 * time.Second
	stallIntervals    = 4
)

// OpenFunc opens a camera's source.
type OpenFunc func(ctx context.Context, src config.Source, opts source.Options) (source.Source, error)

// Observer is told about every encoded frame (for metrics).
type Observer interface {
	FrameEncoded(cameraID string, encode time.Duration, bytes int)
}

// Options are the dependencies of a camera's capture loop. Only Logger is
// required.
type Options struct {
	Logger *slog.Logger
	// Observer, if set, is told about every encoded frame.
	Observer Observer
	// Open opens sources; nil means source.Open.
	Open OpenFunc
	// NewBackoff makes the retry delays; nil means backoff.New.
	NewBackoff func() *backoff.Backoff
	// ResetAfter is how long a source must stream for the backoff to start
	// over; 0 means 30 s.
	ResetAfter time.Duration
	// StallAfter is the shortest time without a frame after which a
	// streaming camera is reported reconnecting while its read still
	// blocks; 0 means 2 s.
	StallAfter time.Duration
}

// Status is a snapshot of a camera for listings, health and metrics. Source
// is already redacted.
type Status struct {
	ID, Name      string
	Source        string
	State         State
	Width, Height int
	FPS           float64 // measured over the last few seconds
	MaxFPS        float64 // configured cap, 0 = none
	LastError     string
	OnDemand      bool
	Subscribers   int
	LastFrameTime time.Time // zero before the first frame
	Frames        uint64    // frames published since start
	Reconnects    uint64    // times the source was lost
}

// Camera is one camera and its capture loop.
type Camera struct {
	cfg     config.Camera
	opts    Options
	log     *slog.Logger
	hub     *hub.Hub
	onState func(id string, s State)

	subs      atomic.Int32
	lastLeave atomic.Int64 // UnixNano of the last subscriber leaving
	wake      chan struct{}

	mu         sync.Mutex
	state      State
	lastErr    string
	width      int
	height     int
	lastFrame  time.Time
	frames     uint64
	reconnects uint64
	fps        float64
	rateStart  time.Time
	rateFrames int
}

// New returns a camera whose loop has not started; see Run.
func New(cfg config.Camera, opts Options) *Camera {
	if opts.Open == nil {
		opts.Open = source.Open
	}
	if opts.NewBackoff == nil {
		opts.NewBackoff = backoff.New
	}
	if opts.ResetAfter == 0 {
		opts.ResetAfter = defaultResetAfter
	}
	if opts.StallAfter <= 0 {
		opts.StallAfter = defaultStallAfter
	}
	c := &Camera{
		cfg:   cfg,
		opts:  opts,
		log:   opts.Logger.With("camera", cfg.ID),
		hub:   hub.New(),
		wake:  make(chan struct{}, 1),
		state: StateStarting,
	}
	if cfg.OnDemand {
		c.state = StateIdle
	}
	return c
}

// ID returns the camera's id.
func (c *Camera) ID() string { return c.cfg.ID }

// Config returns the camera's configuration.
func (c *Camera) Config() config.Camera { return c.cfg }

// Subscribe registers a viewer of the camera (opening an idle on-demand
// camera) until release is called. release may be called more than once.
func (c *Camera) Subscribe() (release func()) {
	c.subs.Add(1)
	select {
	case c.wake <- struct{}{}:
	default:
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			c.lastLeave.Store(time.Now().UnixNano())
			c.subs.Add(-1)
		})
	}
}

// Latest returns the newest frame, if any, and whether it is fresh: the
// camera is streaming. A frame that is not fresh is left from before the
// source was lost or closed; wait with Next(ctx, frame.Seq) for a new one.
func (c *Camera) Latest() (frame *hub.Frame, fresh bool) {
	fresh = c.State() == StateStreaming
	return c.hub.Latest(), fresh
}

// Next waits for a frame newer than seq after and returns the newest.
func (c *Camera) Next(ctx context.Context, after uint64) (*hub.Frame, error) {
	return c.hub.Next(ctx, after)
}

// State returns the camera's current state.
func (c *Camera) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// Status returns a snapshot of the camera.
func (c *Camera) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	fps := c.fps
	if time.Since(c.lastFrame) > staleAfter {
		fps = 0
	}
	return Status{
		ID: c.cfg.ID, Name: c.cfg.Name, Source: c.cfg.Source.String(),
		State: c.state, Width: c.width, Height: c.height, FPS: fps,
		MaxFPS: c.cfg.FPS, LastError: c.lastErr, OnDemand: c.cfg.OnDemand,
		Subscribers: int(c.subs.Load()), LastFrameTime: c.lastFrame,
		Frames: c.frames, Reconnects: c.reconnects,
	}
}

// Run is the capture loop. It returns when ctx ends, with the source closed.
func (c *Camera) Run(ctx context.Context) {
	bo := c.opts.NewBackoff()
	failures := 0         // failed sessions in a row
	streamedOnce := false // since start, or since the camera was last idle
	for {
		if c.cfg.OnDemand && !c.wanted(time.Now()) {
			c.setState(StateIdle, "")
			if !c.waitWanted(ctx) {
				return
			}
			streamedOnce = false
			c.setState(StateStarting, "")
		}
		streamed, err := c.session(ctx)
		if ctx.Err() != nil {
			return
		}
		if streamed > 0 {
			streamedOnce, failures = true, 0
		}
		if streamed >= c.opts.ResetAfter {
			bo.Reset()
		}
		if err == nil {
			continue // an on-demand camera nobody watches: go idle
		}
		failures++
		state := StateReconnecting
		if !streamedOnce || failures > failedAfter {
			state = StateFailed
		}
		if streamed > 0 {
			c.mu.Lock()
			c.reconnects++
			c.mu.Unlock()
		}
		delay := bo.Next()
		c.log.Warn("camera source error", "state", state.String(), "error", err,
			"attempt", failures, "retry_in", delay.Round(time.Millisecond).String())
		c.setState(state, err.Error())
		if !sleep(ctx, delay) {
			return
		}
	}
}

// session opens the source and captures until the source fails, ctx ends
// or an on-demand camera is no longer wanted (err == nil). streamed is how
// long frames flowed. A panic is recovered and returned as this camera's
// error: one broken camera never takes the others down.
func (c *Camera) session(ctx context.Context) (streamed time.Duration, err error) {
	var src source.Source
	var first time.Time
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("capture loop panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("capture loop panicked: %v", r)
		}
		if src != nil {
			src.Close()
		}
		if !first.IsZero() {
			streamed = time.Since(first)
		}
	}()
	src, err = c.opts.Open(ctx, c.cfg.Source, source.Options{Name: c.cfg.Name, Width: c.cfg.Width, FPS: c.cfg.FPS})
	if err != nil {
		src = nil
		return 0, err
	}
	img, resized := gocv.NewMat(), gocv.NewMat()
	defer img.Close()
	defer resized.Close()
	var reads readClock
	watchCtx, stopWatch := context.WithCancel(ctx)
	var watcher sync.WaitGroup
	watcher.Go(func() { c.watch(watchCtx, &reads) })
	defer watcher.Wait()
	defer stopWatch()
	pacer := pace.New(c.cfg.FPS)
	params := []int{gocv.IMWriteJpegQuality, c.cfg.Quality}
	for {
		if err := src.Read(ctx, &img); err != nil {
			if ctx.Err() != nil {
				return 0, nil
			}
			return 0, err
		}
		now := time.Now()
		reads.tick(now)
		if c.cfg.OnDemand && !c.wanted(now) {
			return 0, nil
		}
		if !pacer.Allow(now) {
			continue
		}
		out := img
		if w := c.cfg.Width; w > 0 && img.Cols() != w {
			h := int(math.Round(float64(img.Rows()) * float64(w) / float64(img.Cols())))
			interp := gocv.InterpolationArea // best for shrinking
			if w > img.Cols() {
				interp = gocv.InterpolationLinear
			}
			gocv.Resize(img, &resized, image.Pt(w, max(h, 1)), 0, 0, interp)
			out = resized
		}
		start := time.Now()
		jpeg, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, out, params)
		encode := time.Since(start)
		if err != nil || len(jpeg) == 0 {
			return 0, fmt.Errorf("encode JPEG: %v", err)
		}
		f := &hub.Frame{JPEG: jpeg, Width: out.Cols(), Height: out.Rows(), CapturedAt: now}
		c.hub.Publish(f)
		if first.IsZero() {
			first = now
		}
		c.published(f)
		if c.opts.Observer != nil {
			c.opts.Observer.FrameEncoded(c.cfg.ID, encode, len(jpeg))
		}
	}
}

// readClock is when a session last read a frame and the usual time
// between reads, shared with its watchdog. Only the read loop writes it.
type readClock struct {
	last, gap atomic.Int64 // UnixNano, nanoseconds
}

// tick records a read at now. The gap is a moving average (weight 1/8),
// so one long pause (a stall that ended) barely moves it.
func (r *readClock) tick(now time.Time) {
	prev := r.last.Swap(now.UnixNano())
	if prev == 0 {
		return
	}
	d := now.UnixNano() - prev
	if g := r.gap.Load(); g != 0 {
		d = g + (d-g)/8
	}
	r.gap.Store(d)
}

// watch is a session's watchdog. Reads of network streams and devices
// cannot be interrupted and only fail after FFmpeg's timeouts; until then
// a camera that stopped sending would look streaming. When no frame came
// for max(StallAfter, a few frame intervals), watch reports the camera
// reconnecting; the next frame, or the read failing and the source being
// reopened, moves it on.
func (c *Camera) watch(ctx context.Context, reads *readClock) {
	t := time.NewTicker(c.opts.StallAfter / 4)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			last := reads.last.Load()
			if last == 0 {
				continue // not streaming yet: opening has its own timeouts
			}
			limit := max(c.opts.StallAfter, stallIntervals*time.Duration(reads.gap.Load()))
			if quiet := now.Sub(time.Unix(0, last)); quiet > limit {
				c.stalled(quiet)
			}
		}
	}
}

// stalled reports a streaming camera whose source sent nothing for quiet.
func (c *Camera) stalled(quiet time.Duration) {
	c.mu.Lock()
	if c.state != StateStreaming {
		c.mu.Unlock()
		return
	}
	c.state = StateReconnecting
	c.lastErr = fmt.Sprintf("no frame for %v: the source stalled", quiet.Round(100*time.Millisecond))
	c.mu.Unlock()
	c.log.Warn("camera source stalled", "state", StateReconnecting.String(), "no_frame_for", quiet.Round(time.Millisecond).String())
	c.notify(StateReconnecting)
}

// published records a frame: the camera is streaming, its size and rate.
func (c *Camera) published(f *hub.Frame) {
	c.mu.Lock()
	c.frames++
	c.measureRate(f.CapturedAt)
	c.width, c.height, c.lastFrame = f.Width, f.Height, f.CapturedAt
	changed := c.state != StateStreaming
	if changed {
		c.state, c.lastErr = StateStreaming, ""
	}
	c.mu.Unlock()
	if changed {
		c.log.Info("camera streaming", "source", c.cfg.Source, "width", f.Width, "height", f.Height)
		c.notify(StateStreaming)
	}
}

// measureRate updates the measured frame rate with a frame at t: frames
// counted over windows of rateWindow, a first estimate after a quarter
// window, starting over after a gap in the frames. Called with mu held.
func (c *Camera) measureRate(t time.Time) {
	if c.rateStart.IsZero() || t.Sub(c.lastFrame) > staleAfter {
		c.rateStart, c.rateFrames, c.fps = t, 0, 0
		return
	}
	c.rateFrames++
	d := t.Sub(c.rateStart)
	switch {
	case d >= rateWindow:
		c.fps = float64(c.rateFrames) / d.Seconds()
		c.rateStart, c.rateFrames = t, 0
	case c.fps == 0 && d >= rateWindow/4:
		c.fps = float64(c.rateFrames) / d.Seconds()
	}
}

// setState moves the camera to s, with errMsg as its last error when set.
func (c *Camera) setState(s State, errMsg string) {
	c.mu.Lock()
	changed := c.state != s
	c.state = s
	if errMsg != "" {
		c.lastErr = errMsg
	}
	c.mu.Unlock()
	if changed {
		if s == StateIdle || s == StateStarting {
			c.log.Info("camera "+s.String(), "source", c.cfg.Source)
		}
		c.notify(s)
	}
}

func (c *Camera) notify(s State) {
	if c.onState != nil {
		c.onState(c.cfg.ID, s)
	}
}

// wanted reports whether an on-demand camera should be open: it has
// subscribers, or had one less than idle_timeout ago.
func (c *Camera) wanted(now time.Time) bool {
	if c.subs.Load() > 0 {
		return true
	}
	left := c.lastLeave.Load()
	return left != 0 && now.Sub(time.Unix(0, left)) < c.cfg.IdleTimeout
}

// waitWanted blocks until the camera has a subscriber; false when ctx ends.
func (c *Camera) waitWanted(ctx context.Context) bool {
	for !c.wanted(time.Now()) {
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
