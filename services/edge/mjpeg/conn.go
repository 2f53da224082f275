package mjpeg

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"syscall"
	"time"
)

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

// Conn is one viewer's stream: the response to a stream request, written
// a part at a time. Normally the HTTP/1.1 connection is hijacked and the
// response written raw (Connection: close, no chunked encoding), so a part
// is one write call straight to the socket; each write has a deadline, so
// a dead viewer is dropped and a live one never times out. Where hijacking
// is impossible (HTTP/2, a wrapped writer) it writes through the
// ResponseWriter and flushes each part.
//
// A Conn is used by one goroutine; Close may be called from it once.
type Conn struct {
	ctx     context.Context    // ends when the viewer leaves or the parent ends
	cancel  context.CancelFunc // ends ctx
	done    chan struct{}      // closed when the connection's watcher returns
	timeout time.Duration

	// Hijacked connections.
	conn     net.Conn
	deadline time.Time          // conn's write deadline, see extendDeadline
	raw      syscall.RawConn    // conn's socket, when it is a TCP connection
	room     func(uintptr) bool // see roomPoller
	roomErr  error
	waited   bool // the socket lacked room once: a slow link

	// Other connections.
	w  http.ResponseWriter
	rc *http.ResponseController
}

// Open starts the stream's response on w: the headers, then the Preamble.
// The caller sets the response status for its own bookkeeping (a gin
// writer records it) but writes nothing. writeTimeout bounds each write; the
// Conn's context ends when the viewer goes away, when parent ends, or at
// Close.
func Open(parent context.Context, w http.ResponseWriter, r *http.Request, writeTimeout time.Duration) (*Conn, error) {
	h := w.Header()
	h.Set("Content-Type", ContentType)
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	h.Set("Pragma", "no-cache")
	h.Set("X-Accel-Buffering", "no") // tell proxies not to buffer
	if r.ProtoMajor != 1 || !canHijack(w) {
		return openBuffered(parent, w, r, writeTimeout)
	}
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return openBuffered(parent, w, r, writeTimeout)
	}
	h.Set("Connection", "close")
	var head bytes.Buffer
	head.WriteString("HTTP/1.1 200 OK\r\n")
	_ = h.Write(&head)
	head.WriteString("\r\n" + Preamble)
	ctx, cancel := context.WithCancel(parent)
	c := newHijacked(ctx, cancel, conn, writeTimeout)
	// The client sends nothing more; a read returns when it closes the
	// connection, which ends the stream at once even while no frames flow.
	_ = conn.SetReadDeadline(time.Time{})
	go func() {
		defer close(c.done)
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
	if err := c.Write(head.Bytes()); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// canHijack reports whether w, under any wrappers that unwrap, is an
// http.Hijacker (a gin writer offers Hijack whatever it wraps).
func canHijack(w http.ResponseWriter) bool {
	for {
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			_, ok := w.(http.Hijacker)
			return ok
		}
		w = u.Unwrap()
	}
}

// newHijacked is the Conn of a hijacked connection: for a TCP connection,
// its socket is kept for WaitRoom and its unsent bytes are capped at
// unsentLimit.
func newHijacked(ctx context.Context, cancel context.CancelFunc, conn net.Conn, timeout time.Duration) *Conn {
	c := &Conn{ctx: ctx, cancel: cancel, done: make(chan struct{}), timeout: timeout, conn: conn}
	if tcp, ok := conn.(*net.TCPConn); ok {
		if raw, err := tcp.SyscallConn(); err == nil {
			c.raw, c.room = raw, roomPoller(&c.roomErr, &c.waited)
		}
	}
	c.limitUnsent(unsentLimit)
	return c
}

func openBuffered(parent context.Context, w http.ResponseWriter, r *http.Request, timeout time.Duration) (*Conn, error) {
	ctx, cancel := context.WithCancel(parent)
	c := &Conn{ctx: ctx, cancel: cancel, done: make(chan struct{}), timeout: timeout, w: w, rc: http.NewResponseController(w)}
	stop := context.AfterFunc(r.Context(), cancel)
	go func() {
		defer close(c.done)
		<-ctx.Done()
		stop()
	}()
	if err := c.Write([]byte(Preamble)); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Context ends when the viewer goes away, the parent context ends, or the
// Conn is closed.
func (c *Conn) Context() context.Context { return c.ctx }

// Write writes p (whole parts) to the viewer.
func (c *Conn) Write(p []byte) error {
	if c.conn == nil {
		_ = c.rc.SetWriteDeadline(time.Now().Add(c.timeout))
		if _, err := c.w.Write(p); err != nil {
			return err
		}
		return c.rc.Flush()
	}
	if err := c.extendDeadline(); err != nil {
		return err
	}
	if c.waited {
		// A slow link's socket signals room only once it has sent
		// everything (slowUnsentLimit); kept while writing, that would
		// make it take a part a few KB at a time, one wake-up each.
		// It takes the part in as few writes as its buffer allows,
		// then goes back to the low limit for choosing the next frame.
		c.limitUnsent(max(len(p), unsentLimit))
		defer c.limitUnsent(slowUnsentLimit)
	}
	_, err := c.conn.Write(p)
	return err
}

// extendDeadline gives the next write at least half the write timeout: it
// moves the connection's write deadline to a whole timeout ahead only when
// less than half is left. A viewer that keeps up thus costs a deadline
// update (a runtime timer change, measurably costly when done on every
// frame: see docs/benchmarks.md) once per half timeout, not once per
// frame, and a viewer whose writes stall for more than the timeout is
// still dropped.
func (c *Conn) extendDeadline() error {
	now := time.Now()
	if c.deadline.Sub(now) >= c.timeout/2 {
		return nil
	}
	c.deadline = now.Add(c.timeout)
	return c.conn.SetWriteDeadline(c.deadline)
}

// WaitRoom returns once the socket takes more bytes without queueing them
// behind much unsent data (see limitUnsent), or the write timeout passes.
// Where there is no socket of its own it returns at once.
func (c *Conn) WaitRoom() error {
	if c.raw == nil {
		return nil
	}
	if err := c.extendDeadline(); err != nil {
		return err
	}
	c.roomErr = nil
	slow := c.waited
	if err := c.raw.Write(c.room); err != nil {
		return err
	}
	if c.waited && !slow {
		c.limitUnsent(slowUnsentLimit)
	}
	return c.roomErr
}

// limitUnsent caps the bytes the socket holds unsent (see setUnsentLimit);
// it does nothing where there is no TCP socket.
func (c *Conn) limitUnsent(bytes int) {
	if c.raw != nil {
		setUnsentLimit(c.raw, bytes)
	}
}

// Slow reports whether the socket once lacked room when a frame was due.
func (c *Conn) Slow() bool { return c.waited }

// Close ends the response and waits for the connection's watcher.
func (c *Conn) Close() {
	if c.conn != nil {
		_ = c.conn.Close()
	}
	c.cancel()
	<-c.done
}
