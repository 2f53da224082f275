package grpcserver

import (
	"sync"
	"testing"

	"github.com/camstream/camstream/services/capture/internal/hub"
)

// However many streams send a frame at once, it is encoded once: they
// all get the same wire form.
func TestWireCacheEncodesEachFrameOnce(t *testing.T) {
	var c wireCache
	f := &hub.Frame{Seq: 1, JPEG: []byte("x")}
	got := make([]*encodedFrame, 100)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() { got[i] = c.get(f) })
	}
	wg.Wait()
	for i, e := range got {
		if e != got[0] || e.err != nil {
			t.Fatalf("stream %d got wire form %p (err %v), stream 0 got %p: want one encode", i, e, e.err, got[0])
		}
	}
	// A newer frame replaces it; a stream still sending the older one
	// encodes it for itself and leaves the newer one cached.
	newer := &hub.Frame{Seq: 2, JPEG: []byte("y")}
	n := c.get(newer)
	if old := c.get(f); old == got[0] || old == n {
		t.Errorf("older frame after a newer one: got a cached wire form, want its own encode")
	}
	if c.get(newer) != n {
		t.Errorf("the newer frame was evicted by a stream sending an older one")
	}
}

// A camera's cache lives while it has streams.
func TestWireCachesDropTheirFrameWithTheLastStream(t *testing.T) {
	var w wireCaches
	a, releaseA := w.acquire("cam", 0)
	b, releaseB := w.acquire("cam", 0)
	if a != b {
		t.Fatal("two streams of one camera got different caches")
	}
	releaseA()
	releaseB()
	if len(w.m) != 0 {
		t.Errorf("caches after the last stream ended: %d, want 0", len(w.m))
	}
}

// Each size of a camera has a cache of its own.
func TestWireCachesAreKeyedBySize(t *testing.T) {
	var w wireCaches
	full, releaseFull := w.acquire("cam", 0)
	defer releaseFull()
	small, releaseSmall := w.acquire("cam", 320)
	defer releaseSmall()
	if full == small {
		t.Fatal("the full size and width 320 share a cache, want one each")
	}
	if again, release := w.acquire("cam", 320); again != small {
		t.Error("two streams of width 320 got different caches")
	} else {
		release()
	}
}
