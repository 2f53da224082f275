// Package hub hands a camera's newest frame to any number of subscribers.
//
// The capture loop publishes each frame once; subscribers wait for a frame
// newer than the last one they took and always get the newest. There is no
// queue: a subscriber that is busy while several frames are published skips
// straight to the latest, and nothing a subscriber does can slow the
// publisher. Waiting costs no lock and no allocation per frame and
// subscriber: the hub holds an atomic pointer to the newest frame together
// with a channel that is closed (and replaced) when the next one arrives.
package hub

import (
	"context"
	"sync/atomic"
	"time"
)

// Frame is one encoded frame. It is shared by every subscriber and must not
// be modified after Publish.
type Frame struct {
	Seq        uint64 // set by Publish: 1, 2, 3, ...
	JPEG       []byte
	Width      int
	Height     int
	CapturedAt time.Time
}

// slot is the newest frame and the channel closed when it is replaced.
type slot struct {
	frame *Frame // nil before the first frame
	next  chan struct{}
}

// Hub holds one camera's newest frame. Its zero value is not usable; call New.
type Hub struct {
	cur atomic.Pointer[slot]
}

// New returns a hub with no frame yet.
func New() *Hub {
	h := &Hub{}
	h.cur.Store(&slot{next: make(chan struct{})})
	return h
}

// Publish makes f the newest frame, numbering it one past the previous
// frame, and wakes every waiting subscriber. Only one goroutine (the
// camera's capture loop) may publish to a hub.
func (h *Hub) Publish(f *Frame) {
	old := h.cur.Load()
	f.Seq = 1
	if old.frame != nil {
		f.Seq = old.frame.Seq + 1
	}
	h.cur.Store(&slot{frame: f, next: make(chan struct{})})
	close(old.next)
}

// Latest returns the newest frame, or nil before the first.
func (h *Hub) Latest() *Frame {
	return h.cur.Load().frame
}

// Next returns the newest frame once one with a sequence number above after
// exists, waiting for it if needed. It returns ctx.Err() when ctx ends first.
func (h *Hub) Next(ctx context.Context, after uint64) (*Frame, error) {
	for {
		s := h.cur.Load()
		if s.frame != nil && s.frame.Seq > after {
			return s.frame, nil
		}
		select {
		case <-s.next:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
