// Package viewer is one viewer's session: it subscribes to the cameras the
// viewer watches, chooses the frame each write carries (the newest; a
// viewer on a slow link skips what it cannot take), paces the viewer to
// its frame rate and counts what it sends. How the bytes reach the viewer
// is the Conn's business (mjpeg.Conn).
package viewer

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/camstream/camstream/services/edge/internal/hub"
	"github.com/camstream/camstream/services/edge/internal/metrics"
	"github.com/camstream/camstream/services/edge/internal/size"
)

// Conn is where a session writes: an mjpeg.Conn.
type Conn interface {
	// Context ends when the viewer goes away.
	Context() context.Context
	// Write writes whole parts.
	Write(part []byte) error
	// WaitRoom returns once the viewer's link takes more bytes.
	WaitRoom() error
	// Slow reports whether the link once lacked room when a frame was due.
	Slow() bool
}

// Session is one viewer of one or more cameras.
type Session struct {
	cams     []*camera
	interval time.Duration // 0: every frame
}

// camera is one camera of a session: its feed and its metric handles,
// looked up once so that sending a frame allocates nothing.
type camera struct {
	feed    *hub.Feed
	release func()
	sent    prometheus.Counter
	bytes   prometheus.Counter
	skipped prometheus.Counter
	latency prometheus.Observer
	gauge   prometheus.Gauge
	sized   prometheus.Gauge // the size's viewers; nil at full size
	last    *hub.Frame       // the last frame written
}

// ErrClosed means the hub no longer takes viewers: the edge is shutting
// down.
var ErrClosed = errors.New("no new viewers: shutting down")

// Subscribe starts a session of the feeds keys (a camera at a size, see
// size.Key) at most fps frames per second each (0: every frame). The
// caller must Close it.
func Subscribe(h *hub.Hub, m *metrics.Metrics, keys []string, fps float64) (*Session, error) {
	s := &Session{cams: make([]*camera, 0, len(keys))}
	if fps > 0 {
		s.interval = time.Duration(float64(time.Second) / fps)
	}
	for _, key := range keys {
		feed, release, err := h.Subscribe(key)
		id, width := size.SplitKey(key)
		if err != nil {
			s.Close()
			return nil, ErrClosed
		}
		c := &camera{
			feed:    feed,
			release: release,
			sent:    m.FramesSent.WithLabelValues(id),
			bytes:   m.BytesSent.WithLabelValues(id),
			skipped: m.FramesSkipped.WithLabelValues(id),
			latency: m.FrameLatency.WithLabelValues(id),
			gauge:   m.Viewers.WithLabelValues(id),
		}
		c.gauge.Inc()
		if width > 0 {
			c.sized = m.SizeViewers.WithLabelValues(id, strconv.Itoa(width))
			c.sized.Inc()
		}
		s.cams = append(s.cams, c)
	}
	return s, nil
}

// Close leaves every camera of the session.
func (s *Session) Close() {
	for _, c := range s.cams {
		c.release()
		c.gauge.Dec()
		if c.sized != nil {
			c.sized.Dec()
		}
	}
	s.cams = nil
}

// Serve writes frames to out until the viewer leaves, a write fails, or
// the feeds end (hub.ErrClosed): a camera removed from its capture ends
// its feed; a multiplexed session goes on while any of its cameras has
// one.
func (s *Session) Serve(out Conn) error {
	if len(s.cams) == 1 {
		return s.serveOne(out, s.cams[0])
	}
	return s.serveMany(out)
}

// serveOne writes the newest frame of one camera whenever there is a
// newer one than the last written, at most once per interval.
func (s *Session) serveOne(out Conn, c *camera) error {
	ctx := out.Context()
	pace := newPacer(s.interval)
	defer pace.stop()
	for {
		fr, err := c.feed.Next(ctx, c.last)
		if err != nil {
			return err
		}
		// A viewer that fell behind (it skipped frames, or its link is
		// known to be slow) is given a frame only once its socket has room
		// for it: it then gets the frame that is newest when its link can
		// take it, not one chosen a whole frame's transfer earlier. A
		// viewer that keeps up costs no extra system call.
		if out.Slow() || fr.Skipped(c.last) > 0 {
			if err := out.WaitRoom(); err != nil {
				return err
			}
			if newest := c.feed.Latest(); newest != nil {
				fr = newest
			}
		}
		if err := s.send(out, c, fr); err != nil {
			return err
		}
		if err := pace.wait(ctx); err != nil {
			return err
		}
	}
}

// send writes fr and accounts for it.
func (s *Session) send(out Conn, c *camera, fr *hub.Frame) error {
	if err := out.Write(fr.Part); err != nil {
		return err
	}
	if skipped := fr.Skipped(c.last); skipped > 0 {
		c.skipped.Add(float64(skipped))
	}
	c.last = fr
	c.sent.Inc()
	c.bytes.Add(float64(len(fr.Part)))
	c.latency.Observe(time.Since(fr.CapturedAt).Seconds())
	return nil
}

// serveMany multiplexes several cameras: one goroutine per camera waits
// for its frames (paced per camera) and marks it ready; this goroutine
// writes the newest frame of every ready camera.
func (s *Session) serveMany(out Conn) error {
	ctx, cancel := context.WithCancelCause(out.Context())
	defer cancel(nil)
	r := newReadySet(len(s.cams))
	var wg sync.WaitGroup
	defer wg.Wait()
	var following atomic.Int32
	following.Store(int32(len(s.cams)))
	for i, c := range s.cams {
		wg.Go(func() {
			err := s.follow(ctx, c, i, r)
			if errors.Is(err, hub.ErrClosed) && following.Add(-1) > 0 {
				return // a removed camera leaves the stream; the others go on
			}
			cancel(err)
		})
	}
	ready := make([]*hub.Frame, len(s.cams))
	for {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-r.wake:
		}
		if err := out.WaitRoom(); err != nil {
			cancel(err)
			return err
		}
		r.take(ready)
		for i, fr := range ready {
			if fr == nil {
				continue
			}
			if err := s.send(out, s.cams[i], fr); err != nil {
				cancel(err)
				return err
			}
		}
	}
}

// follow marks camera i's newest frame ready in r, paced, until ctx ends
// or the feed does.
func (s *Session) follow(ctx context.Context, c *camera, i int, r *readySet) error {
	pace := newPacer(s.interval)
	defer pace.stop()
	var last *hub.Frame
	for {
		fr, err := c.feed.Next(ctx, last)
		if err != nil {
			return err
		}
		last = fr
		r.put(i, fr)
		if err := pace.wait(ctx); err != nil {
			return err
		}
	}
}

// readySet is the newest unsent frame of each camera of a multiplexed
// session, and a wake-up for its writer.
type readySet struct {
	mu      sync.Mutex
	pending []*hub.Frame
	wake    chan struct{}
}

func newReadySet(n int) *readySet {
	return &readySet{pending: make([]*hub.Frame, n), wake: make(chan struct{}, 1)}
}

// put makes fr camera i's frame to send, replacing one not yet sent.
func (r *readySet) put(i int, fr *hub.Frame) {
	r.mu.Lock()
	r.pending[i] = fr
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// take moves the pending frames into dst (nil where none).
func (r *readySet) take(dst []*hub.Frame) {
	r.mu.Lock()
	copy(dst, r.pending)
	clear(r.pending)
	r.mu.Unlock()
}
