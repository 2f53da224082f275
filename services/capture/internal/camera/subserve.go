package camera

import (
	"fmt"
	"time"

	"github.com/camstream/camstream/services/capture/internal/hub"
)

// subServes reports whether the sub-stream makes width w now: it streams
// and w is not above its width. The main stream skips such sizes.
func (c *Camera) subServes(w int) bool {
	s := c.sub.Load()
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == StateStreaming && w <= s.width && c.subBlocked(s) == ""
}

// subTakes reports whether the sub-stream makes, or is about to make,
// width w, so that an on-demand camera's main stream need not open for
// it: it is not lost, and w is not above its width (or that is not known
// yet).
func (c *Camera) subTakes(w int) bool {
	s := c.sub.Load()
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == StateFailed || s.state == StateReconnecting || c.subBlocked(s) != "" {
		return false
	}
	return s.width == 0 || w <= s.width
}

// subTaken returns how many subscribers the sub-stream serves in place of
// the main stream.
func (c *Camera) subTaken() int32 {
	if c.sub.Load() == nil {
		return 0
	}
	c.sizesMu.Lock()
	defer c.sizesMu.Unlock()
	var n int32
	for _, z := range c.sizes {
		if z.refs > 0 && c.subTakes(z.width) {
			n += int32(z.refs)
		}
	}
	return n
}

// freshSub reports whether f, a smaller size's frame, is the streaming
// sub-stream's newest.
func (c *Camera) freshSub(f *hub.Frame) bool {
	s := c.sub.Load()
	if s == nil {
		return false
	}
	s.mu.Lock()
	streaming := s.state == StateStreaming && c.subBlocked(s) == ""
	s.mu.Unlock()
	return streaming && f.CapturedAt.UnixNano() == s.lastFrame.Load()
}

// subStreaming records a picture of w×h from the sub-stream: it streams.
func (c *Camera) subStreaming(s *subStream, w, h int) {
	s.mu.Lock()
	changed := s.state != StateStreaming || s.width != w || s.height != h
	s.state, s.width, s.height, s.lastErr = StateStreaming, w, h, ""
	s.mu.Unlock()
	if changed {
		c.log.Info("camera sub-stream streaming", "sub_source", s.src, "width", w, "height", h)
		c.wakeMain()
	}
}

// setSubState moves the sub-stream to st, with errMsg as its last error
// when set. The main loop is woken: an on-demand camera's main stream
// opens when the sub-stream is lost and closes when it is back.
func (c *Camera) setSubState(s *subStream, st State, errMsg string) {
	s.mu.Lock()
	changed := s.state != st
	s.state = st
	if errMsg != "" {
		s.lastErr = errMsg
	}
	s.mu.Unlock()
	if !changed {
		return
	}
	if st == StateIdle || st == StateStarting {
		c.log.Info("camera sub-stream "+st.String(), "sub_source", s.src)
	}
	c.wakeMain()
}

// subStatus returns the sub-stream's status, nil without a sub_source.
func (c *Camera) subStatus() *SubStatus {
	s := c.sub.Load()
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &SubStatus{Source: s.src.String(), State: s.state, Width: s.width, Height: s.height, LastError: s.lastErr}
	if b := c.subBlocked(s); b != "" {
		st.LastError = b
	}
	return st
}

// wakeSub tells an idle sub-stream loop that the watched sizes changed.
func (c *Camera) wakeSub() {
	if s := c.sub.Load(); s != nil {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// subStalled reports a streaming sub-stream that sent nothing for quiet
// (see watch): it is reconnecting, so the main stream makes its sizes
// until its next frame.
func (c *Camera) subStalled(s *subStream, quiet time.Duration) {
	s.mu.Lock()
	if s.state != StateStreaming {
		s.mu.Unlock()
		return
	}
	s.state = StateReconnecting
	s.lastErr = fmt.Sprintf("no frame for %v: the sub-stream stalled", quiet.Round(100*time.Millisecond))
	s.mu.Unlock()
	c.log.Warn("camera sub-stream stalled: smaller sizes are made from the main stream meanwhile",
		"state", StateReconnecting.String(), "no_frame_for", quiet.Round(time.Millisecond).String())
	c.wakeMain()
}
