package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/camstream/camstream/services/edge/internal/hub"
	"github.com/camstream/camstream/services/edge/internal/mjpeg"
	"github.com/camstream/camstream/services/edge/internal/upstream"
)

// maxStreamCameras caps the cameras of one multiplexed stream.
const maxStreamCameras = 64

// unsentLimit is how much of a stream a viewer's socket may hold unsent:
// a slow viewer's backlog, beyond the frame being written. A viewer whose
// socket once had no room when a frame was due is on a link slower than
// the stream: its limit drops to slowUnsentLimit, so that it is given a
// frame only when the frame before has left entirely. Fast viewers keep
// the larger limit, which saves wakeups on links with a large window.
const (
	unsentLimit     = 16 << 10
	slowUnsentLimit = 1
)

// cameraStream serves /cameras/:id/stream.mjpeg[?fps=N].
func (s *Server) cameraStream(c *gin.Context) {
	s.streamCamera(c, func() (string, bool) { return c.Param("id"), true })
}

// seedStream serves the seed's /cam?no=N and /video_feed[?no=N]: the
// stream of the N-th camera (1-based, default 1).
func (s *Server) seedStream(c *gin.Context) {
	s.streamCamera(c, func() (string, bool) {
		n := 1
		if v, set := c.GetQuery("no"); set {
			var err error
			n, err = strconv.Atoi(v)
			if err != nil || n < 1 {
				s.fail(c, http.StatusBadRequest, fmt.Sprintf("no=%q is not a camera number: use 1 for the first camera.", v))
				return "", false
			}
		}
		cams, err := s.catalog.Cameras()
		if err != nil {
			s.failCamera(c, "", err)
			return "", false
		}
		if n > len(cams) {
			s.fail(c, http.StatusNotFound, fmt.Sprintf("There is no camera number %d: this camstream has %d.", n, len(cams)))
			return "", false
		}
		return cams[n-1].GetId(), true
	})
}

// streamCamera streams the camera that pick names (pick answers the
// request itself when it names none), after checking ?fps and that the
// camera's capture answers.
func (s *Server) streamCamera(c *gin.Context, pick func() (string, bool)) {
	fps, ok := s.fpsParam(c)
	if !ok {
		return
	}
	id, ok := pick()
	if !ok {
		return
	}
	if _, err := s.catalog.Camera(c.Request.Context(), id); err != nil {
		s.failCamera(c, id, err)
		return
	}
	s.serveStream(c, []string{id}, fps)
}

// multiStream serves /streams.mjpeg?cameras=a,b,c[&fps=N]: one stream with
// the frames of several cameras, each part naming its camera in
// X-Camera-Id. The pages use it so that any number of live tiles need one
// connection, not one each (browsers open at most six per host).
func (s *Server) multiStream(c *gin.Context) {
	fps, ok := s.fpsParam(c)
	if !ok {
		return
	}
	var ids []string
	if v := c.Query("cameras"); v != "" {
		ids = strings.Split(v, ",")
	} else {
		cams, err := s.catalog.Cameras()
		if err != nil {
			s.failCamera(c, "", err)
			return
		}
		for _, cam := range cams {
			ids = append(ids, cam.GetId())
		}
	}
	if len(ids) == 0 || len(ids) > maxStreamCameras {
		s.fail(c, http.StatusBadRequest, fmt.Sprintf("A stream carries 1 to %d cameras, not %d.", maxStreamCameras, len(ids)))
		return
	}
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			s.fail(c, http.StatusBadRequest, fmt.Sprintf("Camera %q is listed twice.", id))
			return
		}
		seen[id] = true
		if _, err := s.catalog.Camera(c.Request.Context(), id); err != nil && !errors.Is(err, upstream.ErrUnavailable) {
			s.failCamera(c, id, err)
			return
		}
	}
	s.serveStream(c, ids, fps)
}

// fpsParam parses ?fps=N, writing a 400 page when it is bad. 0 means no cap.
func (s *Server) fpsParam(c *gin.Context) (float64, bool) {
	v, set := c.GetQuery("fps")
	if !set {
		return 0, true
	}
	fps, err := strconv.ParseFloat(v, 64)
	if err != nil || fps <= 0 || math.IsInf(fps, 0) || math.IsNaN(fps) {
		s.fail(c, http.StatusBadRequest, fmt.Sprintf("fps=%q is not a frame rate: use a number above 0, like fps=5.", v))
		return 0, false
	}
	return fps, true
}

// viewer is one camera of one stream: its feed and its metric handles,
// looked up once so that sending a frame allocates nothing.
type viewer struct {
	feed    *hub.Feed
	release func()
	sent    prometheus.Counter
	skipped prometheus.Counter
	gauge   prometheus.Gauge
	last    *hub.Frame // the last frame written
}

// serveStream streams the cameras' frames to the client until it leaves,
// a write times out, or the server drains.
func (s *Server) serveStream(c *gin.Context, ids []string, fps float64) {
	if !s.beginStream() {
		s.fail(c, http.StatusServiceUnavailable, "This edge is shutting down; reconnect to reach another.")
		return
	}
	defer s.streams.Done()
	if n := s.viewers.Add(1); s.cfg.MaxViewers > 0 && n > int64(s.cfg.MaxViewers) {
		s.viewers.Add(-1)
		s.fail(c, http.StatusServiceUnavailable, fmt.Sprintf("This edge already serves its maximum of %d viewers; try again later.", s.cfg.MaxViewers))
		return
	}
	defer s.viewers.Add(-1)

	viewers := make([]*viewer, 0, len(ids))
	defer func() {
		for _, v := range viewers {
			v.release()
			v.gauge.Dec()
		}
	}()
	for _, id := range ids {
		feed, release, err := s.hub.Subscribe(id)
		if err != nil {
			s.fail(c, http.StatusServiceUnavailable, "This edge is shutting down; reconnect to reach another.")
			return
		}
		v := &viewer{
			feed:    feed,
			release: release,
			sent:    s.metrics.FramesSent.WithLabelValues(id),
			skipped: s.metrics.FramesSkipped.WithLabelValues(id),
			gauge:   s.metrics.Viewers.WithLabelValues(id),
		}
		v.gauge.Inc()
		viewers = append(viewers, v)
	}

	out, ctx, err := s.openStream(c)
	if err != nil {
		s.log.Debug("open stream", "path", c.Request.URL.Path, "err", err)
		return
	}
	defer out.close()
	var interval time.Duration
	if fps > 0 {
		interval = time.Duration(float64(time.Second) / fps)
	}
	if len(viewers) == 1 {
		err = s.sendOne(ctx, out, viewers[0], interval)
	} else {
		err = s.sendMany(ctx, out, viewers, interval)
	}
	s.log.Debug("stream ended", "path", c.Request.URL.Path, "err", err)
}

// sendOne writes the newest frame of one camera whenever there is a newer
// one than the last written, at most once per interval.
func (s *Server) sendOne(ctx context.Context, out *streamConn, v *viewer, interval time.Duration) error {
	pace := newPacer(interval)
	defer pace.stop()
	for {
		fr, err := v.feed.Next(ctx, v.last)
		if err != nil {
			return err
		}
		// A viewer that fell behind (it skipped frames, or its link is
		// known to be slow) is given a frame only once its socket has room
		// for it: it then gets the frame that is newest when its link can
		// take it, not one chosen a whole frame's transfer earlier. A
		// viewer that keeps up costs no extra system call.
		if out.slow() || fr.Skipped(v.last) > 0 {
			if err := out.waitRoom(); err != nil {
				return err
			}
			if newest := v.feed.Latest(); newest != nil {
				fr = newest
			}
		}
		if err := s.send(out, v, fr); err != nil {
			return err
		}
		if err := pace.wait(ctx); err != nil {
			return err
		}
	}
}

// send writes fr and accounts for it.
func (s *Server) send(out *streamConn, v *viewer, fr *hub.Frame) error {
	if err := out.write(fr.Part); err != nil {
		return err
	}
	if skipped := fr.Skipped(v.last); skipped > 0 {
		v.skipped.Add(float64(skipped))
	}
	v.last = fr
	v.sent.Inc()
	s.metrics.FrameLatency.Observe(time.Since(fr.CapturedAt).Seconds())
	return nil
}

// sendMany multiplexes several cameras: one goroutine per camera waits for
// its frames (paced per camera) and marks it ready; this goroutine writes
// the newest frame of every ready camera.
func (s *Server) sendMany(ctx context.Context, out *streamConn, viewers []*viewer, interval time.Duration) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		mu      sync.Mutex
		pending = make([]*hub.Frame, len(viewers))
		wake    = make(chan struct{}, 1)
		wg      sync.WaitGroup
	)
	for i, v := range viewers {
		wg.Go(func() {
			pace := newPacer(interval)
			defer pace.stop()
			var last *hub.Frame
			for {
				fr, err := v.feed.Next(ctx, last)
				if err != nil {
					cancel(err)
					return
				}
				last = fr
				mu.Lock()
				pending[i] = fr
				mu.Unlock()
				select {
				case wake <- struct{}{}:
				default:
				}
				if err := pace.wait(ctx); err != nil {
					return
				}
			}
		})
	}
	defer wg.Wait()
	ready := make([]*hub.Frame, len(viewers))
	for {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-wake:
		}
		if err := out.waitRoom(); err != nil {
			cancel(err)
			return err
		}
		mu.Lock()
		copy(ready, pending)
		clear(pending)
		mu.Unlock()
		for i, fr := range ready {
			if fr == nil {
				continue
			}
			if err := s.send(out, viewers[i], fr); err != nil {
				cancel(err)
				return err
			}
		}
	}
}

// pacer holds a viewer to at most one frame per interval.
type pacer struct {
	interval time.Duration
	due      time.Time
	timer    *time.Timer
}

func newPacer(interval time.Duration) *pacer {
	p := &pacer{interval: interval}
	if interval > 0 {
		p.timer = time.NewTimer(time.Hour)
		p.timer.Stop()
	}
	return p
}

// wait returns when the next frame is due.
func (p *pacer) wait(ctx context.Context) error {
	if p.interval <= 0 {
		return nil
	}
	now := time.Now()
	if p.due.IsZero() {
		p.due = now // the first frame went out just now
	}
	p.due = p.due.Add(p.interval)
	if p.due.Before(now) {
		p.due = now // late: do not burst to catch up
		return nil
	}
	p.timer.Reset(p.due.Sub(now))
	select {
	case <-p.timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *pacer) stop() {
	if p.timer != nil {
		p.timer.Stop()
	}
}

// streamConn writes a stream's parts. Normally the connection is hijacked
// and the response written raw (Connection: close, no chunked encoding), so
// a part is one write call straight to the socket; each write has its own
// deadline, so a dead viewer is dropped and a live one never times out.
// Where hijacking is impossible it writes through the ResponseWriter.
type streamConn struct {
	timeout  time.Duration
	deadline time.Time          // conn's write deadline, see extendDeadline
	conn     net.Conn           // hijacked, or nil
	raw      syscall.RawConn    // conn's socket, when it is a TCP connection
	room     func(uintptr) bool // see roomPoller
	roomErr  error
	waited   bool // the socket lacked room once: a slow link
	w        http.ResponseWriter
	rc       *http.ResponseController
	cancel   context.CancelFunc // ends the stream's context
	done     chan struct{}      // closed when the connection's watcher returns
}

// openStream starts the response and returns the stream's context, which
// ends when the client goes away or the server drains.
func (s *Server) openStream(c *gin.Context) (*streamConn, context.Context, error) {
	h := c.Writer.Header()
	h.Set("Content-Type", mjpeg.ContentType)
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	h.Set("Pragma", "no-cache")
	h.Set("X-Accel-Buffering", "no") // tell proxies not to buffer

	raw := http.ResponseWriter(c.Writer)
	if u, ok := raw.(interface{ Unwrap() http.ResponseWriter }); ok {
		raw = u.Unwrap()
	}
	if _, ok := raw.(http.Hijacker); !ok || c.Request.ProtoMajor != 1 {
		return s.openBuffered(c)
	}
	c.Status(http.StatusOK) // for the access log; the response is ours now
	conn, rw, err := c.Writer.Hijack()
	if err != nil {
		return s.openBuffered(c)
	}
	h.Set("Connection", "close")
	var head bytes.Buffer
	head.WriteString("HTTP/1.1 200 OK\r\n")
	_ = h.Write(&head)
	head.WriteString("\r\n" + mjpeg.Preamble)
	ctx, cancel := context.WithCancel(s.streamCtx)
	out := hijackedStream(conn, s.cfg.WriteTimeout, cancel)
	// The client sends nothing more; a read returns when it closes the
	// connection, which ends the stream at once even while no frames flow.
	_ = conn.SetReadDeadline(time.Time{})
	go func() {
		defer close(out.done)
		defer cancel()
		var buf [64]byte
		for rw.Reader.Buffered() > 0 {
			if _, err := rw.Reader.Read(buf[:]); err != nil {
				return
			}
		}
		for {
			if _, err := conn.Read(buf[:]); err != nil {
				return
			}
		}
	}()
	if err := out.write(head.Bytes()); err != nil {
		out.close()
		return nil, nil, err
	}
	return out, ctx, nil
}

// hijackedStream is the streamConn of a hijacked connection: for a TCP
// connection, its socket is kept for waitRoom and its unsent bytes are
// capped at unsentLimit.
func hijackedStream(conn net.Conn, timeout time.Duration, cancel context.CancelFunc) *streamConn {
	out := &streamConn{timeout: timeout, conn: conn, cancel: cancel, done: make(chan struct{})}
	if tcp, ok := conn.(*net.TCPConn); ok {
		if raw, err := tcp.SyscallConn(); err == nil {
			out.raw, out.room = raw, roomPoller(&out.roomErr, &out.waited)
		}
	}
	out.limitUnsent(unsentLimit)
	return out
}

func (s *Server) openBuffered(c *gin.Context) (*streamConn, context.Context, error) {
	c.Status(http.StatusOK)
	ctx, cancel := context.WithCancel(s.streamCtx)
	out := &streamConn{timeout: s.cfg.WriteTimeout, w: c.Writer, rc: http.NewResponseController(c.Writer), cancel: cancel, done: make(chan struct{})}
	stop := context.AfterFunc(c.Request.Context(), cancel)
	go func() {
		defer close(out.done)
		<-ctx.Done()
		stop()
	}()
	if err := out.write([]byte(mjpeg.Preamble)); err != nil {
		out.close()
		return nil, nil, err
	}
	return out, ctx, nil
}

func (o *streamConn) write(p []byte) error {
	if o.conn != nil {
		if err := o.extendDeadline(); err != nil {
			return err
		}
		if o.waited {
			// A slow link's socket signals room only once it has sent
			// everything (slowUnsentLimit); kept while writing, that would
			// make it take a part a few KB at a time, one wake-up each.
			// It takes the part in as few writes as its buffer allows,
			// then goes back to the low limit for choosing the next frame.
			o.limitUnsent(max(len(p), unsentLimit))
			defer o.limitUnsent(slowUnsentLimit)
		}
		_, err := o.conn.Write(p)
		return err
	}
	_ = o.rc.SetWriteDeadline(time.Now().Add(o.timeout))
	if _, err := o.w.Write(p); err != nil {
		return err
	}
	return o.rc.Flush()
}

// extendDeadline gives the next write at least half the write timeout: it
// moves the connection's write deadline to a whole timeout ahead only when
// less than half is left. A viewer that keeps up thus costs a deadline
// update (a runtime timer change, about 4 % of the edge's CPU when done on
// every frame) once per half timeout, not once per frame, and a viewer
// whose writes stall for more than the timeout is still dropped.
func (o *streamConn) extendDeadline() error {
	now := time.Now()
	if o.deadline.Sub(now) >= o.timeout/2 {
		return nil
	}
	o.deadline = now.Add(o.timeout)
	return o.conn.SetWriteDeadline(o.deadline)
}

// waitRoom returns once the socket takes more bytes without queueing them
// behind much unsent data (see limitUnsent), or the write timeout passes.
func (o *streamConn) waitRoom() error {
	if o.raw == nil {
		return nil
	}
	if err := o.extendDeadline(); err != nil {
		return err
	}
	o.roomErr = nil
	slow := o.waited
	if err := o.raw.Write(o.room); err != nil {
		return err
	}
	if o.waited && !slow {
		o.limitUnsent(slowUnsentLimit)
	}
	return o.roomErr
}

// limitUnsent caps the bytes the socket holds unsent (see setUnsentLimit);
// it does nothing where there is no TCP socket.
func (o *streamConn) limitUnsent(bytes int) {
	if o.raw != nil {
		setUnsentLimit(o.raw, bytes)
	}
}

// slow reports whether the socket once lacked room when a frame was due.
func (o *streamConn) slow() bool { return o.waited }

// close ends the response and waits for the connection's watcher.
func (o *streamConn) close() {
	if o.conn != nil {
		_ = o.conn.Close()
	}
	o.cancel()
	<-o.done
}
