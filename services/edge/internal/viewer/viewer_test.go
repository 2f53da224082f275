package viewer

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/camstream/camstream/services/edge/internal/hub"
	"github.com/camstream/camstream/services/edge/internal/metrics"
	"github.com/camstream/camstream/services/edge/mjpeg"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeConn records the frames written to it; while blocked, WaitRoom
// waits, as on a link that has no room.
type fakeConn struct {
	ctx     context.Context
	mu      sync.Mutex
	written []uint64 // X-Frame-Seq of each part, read back
	room    chan struct{}
	waiting chan struct{} // gets a value each time WaitRoom starts waiting
	slow    bool
	wrote   chan struct{}
}

func newFakeConn(ctx context.Context) *fakeConn {
	return &fakeConn{ctx: ctx, room: make(chan struct{}), waiting: make(chan struct{}, 100), wrote: make(chan struct{}, 100)}
}

func (c *fakeConn) Context() context.Context { return c.ctx }
func (c *fakeConn) Slow() bool               { return c.slow }

func (c *fakeConn) WaitRoom() error {
	c.waiting <- struct{}{}
	select {
	case <-c.room:
		return nil
	case <-c.ctx.Done():
		return c.ctx.Err()
	}
}

func (c *fakeConn) Write(part []byte) error {
	r := mjpeg.NewReader(io.MultiReader(strings.NewReader(mjpeg.Preamble), bytes.NewReader(part)))
	p, err := r.Next()
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.written = append(c.written, p.Seq)
	c.mu.Unlock()
	c.wrote <- struct{}{}
	return nil
}

func (c *fakeConn) seqs() []uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]uint64(nil), c.written...)
}

// testHub is a hub whose cameras' frames the test publishes.
func testHub(t *testing.T) (*hub.Hub, func(camera string) func(seq uint64)) {
	t.Helper()
	var mu sync.Mutex
	publishers := map[string]chan func(*hub.Frame){}
	ch := func(id string) chan func(*hub.Frame) {
		mu.Lock()
		defer mu.Unlock()
		if publishers[id] == nil {
			publishers[id] = make(chan func(*hub.Frame), 1)
		}
		return publishers[id]
	}
	h := hub.New(slog.New(slog.NewTextHandler(io.Discard, nil)), func(ctx context.Context, id string, publish func(*hub.Frame)) {
		ch(id) <- publish
		<-ctx.Done()
	}, time.Minute)
	t.Cleanup(h.Close)
	return h, func(id string) func(uint64) {
		publish := <-ch(id)
		return func(seq uint64) {
			publish(hub.NewFrame(mjpeg.Frame{CameraID: id, Seq: seq, CapturedAt: time.Now(), JPEG: []byte("\xff\xd8")}, 4, 3))
		}
	}
}

// A viewer on a slow link that waits for room to send frame 2, while
// frames 3 to 6 arrive, is given frame 6 when room comes, not frame 2;
// the frames it skipped are counted.
func TestSlowViewerGetsTheNewestFrame(t *testing.T) {
	h, publisher := testHub(t)
	m := metrics.New()
	s, err := Subscribe(h, m, []string{"cam"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	out := newFakeConn(ctx)
	out.slow = true
	done := make(chan error, 1)
	go func() { done <- s.Serve(out) }()

	publish := publisher("cam")
	publish(1)
	<-out.waiting
	out.room <- struct{}{}
	<-out.wrote
	publish(2)
	<-out.waiting
	for seq := uint64(3); seq <= 6; seq++ {
		publish(seq)
	}
	out.room <- struct{}{}
	<-out.wrote
	cancel()
	if err := <-done; err == nil {
		t.Errorf("Serve returned nil after the viewer left, want its context's error")
	}
	if got := out.seqs(); len(got) != 2 || got[0] != 1 || got[1] != 6 {
		t.Errorf("frames written %v, want [1 6]: the newest when room came", got)
	}
	if got := testutil.ToFloat64(m.FramesSkipped.WithLabelValues("cam")); got != 4 {
		t.Errorf("frames skipped = %v, want 4", got)
	}
}

// A multiplexed session writes every camera's frames on one connection.
func TestSessionMultiplexesCameras(t *testing.T) {
	h, publisher := testHub(t)
	s, err := Subscribe(h, metrics.New(), []string{"a", "b"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	out := newFakeConn(ctx)
	close(out.room) // always room
	done := make(chan error, 1)
	go func() { done <- s.Serve(out) }()
	publishA, publishB := publisher("a"), publisher("b")
	publishA(10)
	<-out.wrote
	publishB(20)
	<-out.wrote
	cancel()
	<-done
	if got := out.seqs(); len(got) != 2 || got[0] != 10 || got[1] != 20 {
		t.Errorf("frames written %v, want [10 20]", got)
	}
}

// The pacer never lets frames out faster than its interval, the first
// included (timers never fire early, so a busy machine cannot break this).
func TestPacerSpacesFrames(t *testing.T) {
	const interval = 40 * time.Millisecond
	p := newPacer(interval)
	defer p.stop()
	start := time.Now()
	for range 3 {
		if err := p.wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if elapsed := time.Since(start); elapsed < 3*interval {
		t.Errorf("3 waits at %v took %v, want at least %v", interval, elapsed, 3*interval)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.wait(ctx); err == nil {
		t.Errorf("wait with a cancelled context: nil error, want one")
	}
}
