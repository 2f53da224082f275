package camera

import (
	"context"
	"fmt"
	"image"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"gocv.io/x/gocv"

	"github.com/camstream/camstream/services/capture/internal/hub"
	"github.com/camstream/camstream/services/capture/internal/size"
)

// sized is one smaller size of a camera's frames: its own hub, filled by
// the capture loop from the decoded picture while someone watches it.
type sized struct {
	width   int
	hub     *hub.Hub
	refs    int // subscribers; guarded by Camera.sizesMu
	height  atomic.Int32
	encodes atomic.Uint64
}

// SizeStatus is one smaller size of a camera: its ladder width, the
// height of its frames (0 before the first), who watches it and how many
// frames were encoded at it since start.
type SizeStatus struct {
	Width, Height int
	Subscribers   int
	Encodes       uint64
}

// Feed is the frames of one size of a camera.
type Feed struct {
	cam *Camera
	hub *hub.Hub
	// Width is the ladder width of the frames, 0 for the full size.
	Width int
}

// Latest is Camera.Latest for the feed's size. A smaller size's frame is
// fresh only while it belongs to the newest full frame, or to the
// streaming sub-stream's newest picture: one left from before the size
// was last watched is not.
func (f Feed) Latest() (frame *hub.Frame, fresh bool) {
	frame = f.hub.Latest()
	fresh = frame != nil && f.cam.State() == StateStreaming
	if f.Width != 0 && fresh {
		full := f.cam.hub.Latest()
		fresh = full != nil && frame.CapturedAt.Equal(full.CapturedAt)
	}
	if f.Width != 0 && !fresh && frame != nil {
		fresh = f.cam.freshSub(frame)
	}
	return frame, fresh
}

// Next waits for a frame of the feed's size newer than seq after.
func (f Feed) Next(ctx context.Context, after uint64) (*hub.Frame, error) {
	return f.hub.Next(ctx, after)
}

// SubscribeWidth is Subscribe at a wanted width: want snaps down to the
// ladder, and 0, or a width not below the camera's own, is the full size.
// While the returned feed is held, the capture loop encodes its size once
// per frame, for every subscriber of that size; release ends that when it
// is the size's last subscriber. A negative width is an error.
func (c *Camera) SubscribeWidth(want int) (Feed, func(), error) {
	w, err := c.sizeOf(want)
	if err != nil {
		return Feed{}, nil, err
	}
	if w == 0 {
		return Feed{cam: c, hub: c.hub}, c.Subscribe(), nil
	}
	s := c.addSize(w)
	c.subs.Add(1)
	c.wakeMain()
	var once sync.Once
	return Feed{cam: c, hub: s.hub, Width: w}, func() {
		once.Do(func() {
			c.leave(!c.subTakes(w))
			c.dropSize(s)
		})
	}, nil
}

// sizeOf is the ladder width a subscriber asking for want gets: want
// snapped down to the ladder, 0 for the full size (want 0, or not below
// the camera's own width).
func (c *Camera) sizeOf(want int) (int, error) {
	w, err := size.Snap(want)
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	full := c.width
	c.mu.Unlock()
	if full > 0 && w >= full {
		return 0, nil
	}
	return w, nil
}

// Unavailable reports whether no stream of the camera can give a frame
// at width want soon: the main stream failed and the sub-stream neither
// makes that size nor is about to (it is lost, or want is above its
// width). A bad width is not unavailable: SubscribeWidth reports it.
func (c *Camera) Unavailable(want int) bool {
	if c.State() != StateFailed {
		return false
	}
	w, err := c.sizeOf(want)
	return err == nil && (w == 0 || !c.subTakes(w))
}

func (c *Camera) addSize(w int) *sized {
	c.sizesMu.Lock()
	defer c.sizesMu.Unlock()
	if c.sizes == nil {
		c.sizes = make(map[int]*sized)
	}
	s := c.sizes[w]
	if s == nil {
		s = &sized{width: w, hub: hub.New()}
		c.sizes[w] = s
	}
	if s.refs++; s.refs == 1 {
		c.storeWatched()
	}
	return s
}

func (c *Camera) dropSize(s *sized) {
	c.sizesMu.Lock()
	defer c.sizesMu.Unlock()
	if s.refs--; s.refs == 0 {
		c.storeWatched()
	}
}

// storeWatched publishes the sizes with subscribers, narrowest first, for
// the capture loop. Called with sizesMu held.
func (c *Camera) storeWatched() {
	var list []*sized
	for _, s := range c.sizes {
		if s.refs > 0 {
			list = append(list, s)
		}
	}
	slices.SortFunc(list, func(a, b *sized) int { return a.width - b.width })
	c.watched.Store(&list)
	c.wakeSub()
}

// sizeStatuses returns every size watched since start, narrowest first.
func (c *Camera) sizeStatuses() []SizeStatus {
	c.sizesMu.Lock()
	defer c.sizesMu.Unlock()
	out := make([]SizeStatus, 0, len(c.sizes))
	for _, s := range c.sizes {
		out = append(out, SizeStatus{Width: s.width, Height: int(s.height.Load()),
			Subscribers: s.refs, Encodes: s.encodes.Load()})
	}
	slices.SortFunc(out, func(a, b SizeStatus) int { return a.Width - b.Width })
	return out
}

// encodeSizes publishes every watched smaller size of full, the frame
// just published from pic: resized from the decoded picture and encoded
// once each. pic may be a reduced decode of full, no narrower than the
// widest size below full's width. With no smaller size watched it costs
// one atomic load. A size not below full's width gets full's JPEG.
func (c *Camera) encodeSizes(pic gocv.Mat, full *hub.Frame, params []int, small, scratch *gocv.Mat) error {
	p := c.watched.Load()
	if p == nil {
		return nil
	}
	for _, s := range *p {
		if c.subServes(s.width) {
			continue // made from the sub-stream
		}
		if s.width >= full.Width {
			s.hub.Publish(&hub.Frame{JPEG: full.JPEG, Width: full.Width, Height: full.Height, CapturedAt: full.CapturedAt})
			continue
		}
		h := size.Height(s.width, full.Width, full.Height)
		if err := c.encodeSize(s, pic, h, full.CapturedAt, params, small, scratch); err != nil {
			return err
		}
	}
	return nil
}

// encodeSize publishes pic resized to s's width and height h, encoded
// once, as s's frame captured at at.
func (c *Camera) encodeSize(s *sized, pic gocv.Mat, h int, at time.Time, params []int, small, scratch *gocv.Mat) error {
	out := pic
	if s.width != pic.Cols() || h != pic.Rows() {
		shrink(pic, small, scratch, s.width, h)
		out = *small
	}
	start := time.Now()
	jpeg, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, out, params)
	if err != nil || len(jpeg) == 0 {
		return fmt.Errorf("encode JPEG at width %d: %v", s.width, err)
	}
	s.height.Store(int32(h))
	s.encodes.Add(1)
	if c.opts.Observer != nil {
		c.opts.Observer.FrameEncoded(c.id, time.Since(start), len(jpeg))
	}
	s.hub.Publish(&hub.Frame{JPEG: jpeg, Width: s.width, Height: h, CapturedAt: at})
	return nil
}

// shrink resizes pic to w×h into dst: halving with bilinear steps (each an
// exact 2×2 average) while the picture is at least twice too wide, then one
// bilinear step. That is as smooth as area interpolation and about eight
// times cheaper than OpenCV's area path for these factors.
func shrink(pic gocv.Mat, dst, scratch *gocv.Mat, w, h int) {
	src := pic
	for i := 0; src.Cols() >= 2*w && src.Rows() >= 2*h; i++ {
		next := dst
		if i%2 == 1 {
			next = scratch
		}
		gocv.Resize(src, next, image.Pt(src.Cols()/2, src.Rows()/2), 0, 0, gocv.InterpolationLinear)
		src = *next
	}
	if src.Cols() != w || src.Rows() != h {
		out := dst
		if src.Ptr() == dst.Ptr() {
			out = scratch
		}
		gocv.Resize(src, out, image.Pt(w, h), 0, 0, gocv.InterpolationLinear)
		src = *out
	}
	if src.Ptr() != dst.Ptr() {
		src.CopyTo(dst)
	}
}
