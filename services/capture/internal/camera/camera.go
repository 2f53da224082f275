// Package camera runs one capture loop per camera. The loop owns the
// camera's source: it reads a frame, resizes it, caps the frame rate,
// encodes it to JPEG once and publishes it as the camera's latest frame for
// every subscriber. It reopens a lost source with backoff, opens on-demand
// cameras on their first subscriber and closes them when the last leaves,
// and keeps the state, the last error and the measured frame rate. A Set
// holds a process's cameras and applies a reloaded camera file to them, by
// camera id.
package camera

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/camstream/camstream/services/capture/internal/backoff"
	"github.com/camstream/camstream/services/capture/internal/config"
	"github.com/camstream/camstream/services/capture/internal/hub"
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
	LastFrameTime time.Time    // zero before the first frame
	Frames        uint64       // frames published since start
	Reconnects    uint64       // times the source was lost
	Sizes         []SizeStatus // smaller sizes watched since start, narrowest first
	Sub           *SubStatus   // the sub_source's stream, nil without one
	// PassThrough: frames are the source's own JPEG bytes, not re-encoded.
	PassThrough bool
}

// Camera is one camera and its capture loop. Its hub, and so its
// subscribers, outlive a change of its settings.
type Camera struct {
	id      string
	opts    Options
	log     *slog.Logger
	hub     *hub.Hub
	onState func(c *Camera, s State)
	// life ends when a reload removes the camera (see Life).
	life   context.Context
	remove context.CancelFunc

	subs atomic.Int32
	// passing is whether the current session forwards the source's JPEG.
	passing atomic.Bool
	// sizes holds every smaller size watched since start (at most the
	// ladder's steps), watched the ones the capture loop encodes now.
	sizesMu   sync.Mutex
	sizes     map[int]*sized
	watched   atomic.Pointer[[]*sized]
	lastLeave atomic.Int64 // UnixNano of the last subscriber leaving
	wake      chan struct{}
	// sub is the current settings' sub-stream, nil without a sub_source.
	sub atomic.Pointer[subStream]
	// mainSize is the main stream's source picture size, before the
	// picture controls: width<<32 | height, 0 while not known.
	mainSize atomic.Uint64

	mu      sync.Mutex
	cfg     config.Camera
	restart context.CancelFunc // ends the loop of the current settings
	// stopLoop ends the camera's Run; set by the Set that runs it.
	stopLoop   context.CancelFunc
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
		id:    cfg.ID,
		cfg:   cfg,
		opts:  opts,
		log:   opts.Logger.With("camera", cfg.ID),
		hub:   hub.New(),
		wake:  make(chan struct{}, 1),
		state: StateStarting,
	}
	c.life, c.remove = context.WithCancel(context.Background())
	if cfg.OnDemand {
		c.state = StateIdle
	}
	return c
}

// ID returns the camera's id.
func (c *Camera) ID() string { return c.id }

// Config returns the camera's configuration.
func (c *Camera) Config() config.Camera {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cfg
}

// Reconfigure gives the camera new settings (same id). Its loop closes the
// source and starts over with them; subscribers stay and get the frames of
// the new settings.
func (c *Camera) Reconfigure(cfg config.Camera) {
	c.mu.Lock()
	c.cfg = cfg
	restart := c.restart
	c.mu.Unlock()
	c.log.Info("camera settings changed: restarting", "source", cfg.Source, "sub_source", cfg.SubSource, "fps", cfg.FPS,
		"width", cfg.Width, "quality", cfg.Quality, "on_demand", cfg.OnDemand)
	if restart != nil {
		restart()
	}
}

// restarted resets the state for new settings: the old settings' error no
// longer applies.
func (c *Camera) restarted() {
	c.mu.Lock()
	c.lastErr = ""
	c.mu.Unlock()
	c.setState(StateStarting, "")
}

// Life is a context that ends when a reload removes the camera from its
// set: its subscribers must then leave.
func (c *Camera) Life() context.Context { return c.life }

// Removed reports whether a reload removed the camera.
func (c *Camera) Removed() bool { return c.life.Err() != nil }

// Subscribe registers a viewer of the camera (opening an idle on-demand
// camera) until release is called. release may be called more than once.
func (c *Camera) Subscribe() (release func()) {
	c.subs.Add(1)
	c.wakeMain()
	var once sync.Once
	return func() { once.Do(func() { c.leave(true) }) }
}

// leave ends a subscription. Only a subscriber the main stream served
// starts its idle_timeout: one the sub-stream served does not keep an
// on-demand camera's main stream open.
func (c *Camera) leave(servedByMain bool) {
	if servedByMain {
		c.lastLeave.Store(time.Now().UnixNano())
	}
	c.subs.Add(-1)
}

// wakeMain tells an idle on-demand camera's loop to check whether it is
// wanted.
func (c *Camera) wakeMain() {
	select {
	case c.wake <- struct{}{}:
	default:
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
		ID: c.id, Name: c.cfg.Name, Source: c.cfg.Source.String(),
		State: c.state, Width: c.width, Height: c.height, FPS: fps,
		MaxFPS: c.cfg.FPS, LastError: c.lastErr, OnDemand: c.cfg.OnDemand,
		Subscribers: int(c.subs.Load()), LastFrameTime: c.lastFrame,
		Frames: c.frames, Reconnects: c.reconnects, Sizes: c.sizeStatuses(), Sub: c.subStatus(),
		PassThrough: c.passing.Load(),
	}
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
	src := c.cfg.Source
	c.mu.Unlock()
	if changed {
		c.log.Info("camera streaming", "source", src, "width", f.Width, "height", f.Height,
			"passthrough", c.passing.Load())
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
	src := c.cfg.Source
	c.mu.Unlock()
	if changed {
		if s == StateIdle || s == StateStarting {
			c.log.Info("camera "+s.String(), "source", src)
		}
		c.notify(s)
	}
}

func (c *Camera) notify(s State) {
	if c.onState != nil {
		c.onState(c, s)
	}
}
