package camera

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

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
// reconnecting (through stalled: the camera's, or its sub-stream's); the
// next frame, or the read failing and the source being reopened, moves it
// on.
func (c *Camera) watch(ctx context.Context, reads *readClock, stalled func(quiet time.Duration)) {
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
				stalled(quiet)
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
