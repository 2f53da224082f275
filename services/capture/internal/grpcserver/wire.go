package grpcserver

import (
	"sync"
	"sync/atomic"

	"github.com/camstream/camstream/services/capture/internal/hub"
)

// wireCache is the wire form of a camera's newest frame, shared by every
// stream of the camera: each frame is encoded once, on its first send,
// however many streams carry it.
type wireCache struct {
	cameraID string
	width    int // ladder width, 0 = full size
	refs     int // streams using it; guarded by wireCaches.mu
	cur      atomic.Pointer[wireEntry]
}

// wireEntry is one frame and its wire form, made once.
type wireEntry struct {
	frame *hub.Frame
	once  sync.Once
	wire  *encodedFrame
}

// get returns f in wire form. The newest frame's is kept for the streams
// that send it next; a stream behind the others, sending an older frame,
// encodes it for itself rather than evicting the newer one.
func (c *wireCache) get(f *hub.Frame) *encodedFrame {
	e := c.cur.Load()
	for e == nil || e.frame != f {
		if e != nil && e.frame.Seq > f.Seq {
			return encode(c.cameraID, f)
		}
		if n := (&wireEntry{frame: f}); c.cur.CompareAndSwap(e, n) {
			e = n
			break
		}
		e = c.cur.Load()
	}
	e.once.Do(func() { e.wire = encode(c.cameraID, f) })
	return e.wire
}

// wireKey names one size of one camera.
type wireKey struct {
	cameraID string
	width    int
}

// wireCaches holds a wireCache for every camera and size that has
// streams, and drops it (with the frame it holds) when the last one ends.
type wireCaches struct {
	mu sync.Mutex
	m  map[wireKey]*wireCache
}

// acquire returns the cache of the camera at width (0 = full size) and the
// func that releases it.
func (w *wireCaches) acquire(cameraID string, width int) (*wireCache, func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m == nil {
		w.m = make(map[wireKey]*wireCache)
	}
	k := wireKey{cameraID, width}
	c := w.m[k]
	if c == nil {
		c = &wireCache{cameraID: cameraID, width: width}
		w.m[k] = c
	}
	c.refs++
	return c, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if c.refs--; c.refs == 0 {
			delete(w.m, k)
		}
	}
}
