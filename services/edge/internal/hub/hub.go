// Package hub keeps each camera's newest frame and hands it to every viewer
// of that camera in this process.
//
// Publishing a frame is O(1) and never waits for viewers: the frame becomes
// the camera's latest and the previous frame's channel is closed, which wakes
// every viewer waiting for it. A viewer that was busy simply takes the newest
// frame when it is ready again (latest frame wins, never a queue).
//
// The hub also owns each camera's upstream: the Source runs while the camera
// has viewers, starting with the first and stopping a grace period after the
// last one leaves, so every viewer shares one upstream.
package hub

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/camstream/camstream/services/edge/mjpeg"
)

// ErrClosed is returned when a feed or the hub has ended.
var ErrClosed = errors.New("feed closed")

// Frame is one immutable JPEG frame with its MJPEG part, shared by all
// viewers. Nothing may modify it after it is published.
type Frame struct {
	CameraID      string
	Seq           uint64
	CapturedAt    time.Time
	Width, Height int
	// Part is the frame's complete MJPEG part (see package mjpeg).
	Part []byte
	// JPEG is the image, a sub-slice of Part.
	JPEG []byte

	n    uint64        // position in its feed, from 1; 0 before the first frame
	next chan struct{} // closed when a newer frame is published
}

// NewFrame builds a frame and its MJPEG part.
func NewFrame(f mjpeg.Frame, width, height int) *Frame {
	part := mjpeg.AppendPart(make([]byte, 0, mjpeg.PartSize(f)), f)
	jpegStart := len(part) - len(f.JPEG) - len("\r\n--"+mjpeg.Boundary+"\r\n")
	return &Frame{
		CameraID:   f.CameraID,
		Seq:        f.Seq,
		CapturedAt: f.CapturedAt,
		Width:      width,
		Height:     height,
		Part:       part,
		JPEG:       part[jpegStart : jpegStart+len(f.JPEG) : jpegStart+len(f.JPEG)],
	}
}

// Skipped is the number of frames published between since and f; zero when
// since is nil.
func (f *Frame) Skipped(since *Frame) uint64 {
	if since == nil || f.n <= since.n {
		return 0
	}
	return f.n - since.n - 1
}

// Feed is one camera's stream of frames.
type Feed struct {
	cameraID string
	latest   atomic.Pointer[Frame]
	done     chan struct{}
}

func newFeed(cameraID string) *Feed {
	f := &Feed{cameraID: cameraID, done: make(chan struct{})}
	f.latest.Store(&Frame{next: make(chan struct{})})
	return f
}

// CameraID is the camera this feed carries.
func (f *Feed) CameraID() string { return f.cameraID }

// publish makes fr the newest frame. Only the feed's Source calls it, from
// one goroutine.
func (f *Feed) publish(fr *Frame) {
	fr.next = make(chan struct{})
	prev := f.latest.Load()
	fr.n = prev.n + 1
	f.latest.Store(fr)
	close(prev.next)
}

// Latest returns the newest frame, or nil before the first one.
func (f *Feed) Latest() *Frame {
	if fr := f.latest.Load(); fr.n > 0 {
		return fr
	}
	return nil
}

// Next returns the newest frame published after last (the newest frame at
// all when last is nil), waiting for one if needed. It returns ctx's error
// when ctx ends and ErrClosed when the feed ends.
func (f *Feed) Next(ctx context.Context, last *Frame) (*Frame, error) {
	cur := f.latest.Load()
	for {
		if cur.n > 0 && (last == nil || cur.n > last.n) {
			return cur, nil
		}
		select {
		case <-cur.next:
			cur = f.latest.Load()
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-f.done:
			return nil, ErrClosed
		}
	}
}

// Source delivers one camera's frames to publish until ctx ends. The hub
// runs it in its own goroutine while the camera has viewers.
type Source func(ctx context.Context, cameraID string, publish func(*Frame))

// Hub holds a feed for every camera that has viewers.
type Hub struct {
	log    *slog.Logger
	source Source
	grace  time.Duration
	wg     sync.WaitGroup

	mu     sync.Mutex
	feeds  map[string]*entry
	closed bool
}

type entry struct {
	feed   *Feed
	refs   int
	cancel context.CancelFunc
	idle   *time.Timer // set while refs == 0, ends the feed after the grace period
}

// New returns a hub that starts source for a camera on its first viewer and
// stops it grace after the last viewer leaves.
func New(log *slog.Logger, source Source, grace time.Duration) *Hub {
	return &Hub{log: log, source: source, grace: grace, feeds: make(map[string]*entry)}
}

// Subscribe returns the camera's feed, starting its source if this is the
// first viewer, and a release func the viewer must call once when it leaves.
func (h *Hub) Subscribe(cameraID string) (*Feed, func(), error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, nil, ErrClosed
	}
	e := h.feeds[cameraID]
	if e == nil {
		e = h.start(cameraID)
	}
	if e.idle != nil {
		e.idle.Stop()
		e.idle = nil
	}
	e.refs++
	var once sync.Once
	return e.feed, func() { once.Do(func() { h.release(cameraID, e) }) }, nil
}

// start runs the camera's source; h.mu is held.
func (h *Hub) start(cameraID string) *entry {
	ctx, cancel := context.WithCancel(context.Background())
	e := &entry{feed: newFeed(cameraID), cancel: cancel}
	h.feeds[cameraID] = e
	h.log.Debug("upstream starting", "camera", cameraID)
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		h.source(ctx, cameraID, e.feed.publish)
		cancel()
		h.mu.Lock()
		if h.feeds[cameraID] == e {
			delete(h.feeds, cameraID)
		}
		if e.idle != nil {
			e.idle.Stop()
		}
		h.mu.Unlock()
		close(e.feed.done)
		h.log.Debug("upstream stopped", "camera", cameraID)
	}()
	return e
}

func (h *Hub) release(cameraID string, e *entry) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e.refs--
	if e.refs > 0 || h.closed {
		return
	}
	e.idle = time.AfterFunc(h.grace, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if e.refs == 0 && h.feeds[cameraID] == e {
			delete(h.feeds, cameraID)
			e.cancel()
		}
	})
}

// Latest returns the newest frame of a camera whose feed is running, or nil.
func (h *Hub) Latest(cameraID string) *Frame {
	h.mu.Lock()
	e := h.feeds[cameraID]
	h.mu.Unlock()
	if e == nil {
		return nil
	}
	return e.feed.Latest()
}

// Feeds is the number of cameras whose source is running.
func (h *Hub) Feeds() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.feeds)
}

// Close ends every feed and waits for the sources to return.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	for _, e := range h.feeds {
		if e.idle != nil {
			e.idle.Stop()
		}
		e.cancel()
	}
	h.mu.Unlock()
	h.wg.Wait()
}
