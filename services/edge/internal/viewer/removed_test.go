package viewer

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/camstream/camstream/services/edge/internal/hub"
	"github.com/camstream/camstream/services/edge/internal/metrics"
	"github.com/camstream/camstream/services/edge/mjpeg"
)

// endingHub is a hub whose cameras' sources the test can end, as the
// upstream does when a camera is removed from its capture.
type endingHub struct {
	*hub.Hub
	mu      sync.Mutex
	publish map[string]func(*hub.Frame)
	end     map[string]chan struct{}
	started chan string
}

func newEndingHub(t *testing.T) *endingHub {
	t.Helper()
	e := &endingHub{publish: map[string]func(*hub.Frame){}, end: map[string]chan struct{}{}, started: make(chan string, 10)}
	e.Hub = hub.New(slog.New(slog.NewTextHandler(io.Discard, nil)), func(ctx context.Context, id string, publish func(*hub.Frame)) {
		end := make(chan struct{})
		e.mu.Lock()
		e.publish[id], e.end[id] = publish, end
		e.mu.Unlock()
		e.started <- id
		select {
		case <-ctx.Done():
		case <-end:
		}
	}, time.Minute)
	t.Cleanup(e.Close)
	return e
}

func (e *endingHub) send(id string, seq uint64) {
	e.mu.Lock()
	publish := e.publish[id]
	e.mu.Unlock()
	publish(hub.NewFrame(mjpeg.Frame{CameraID: id, Seq: seq, CapturedAt: time.Now(), JPEG: []byte("\xff\xd8")}, 4, 3))
}

func (e *endingHub) endSource(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	close(e.end[id])
}

// One camera of a multiplexed session is removed: the session goes on
// with the other; when that one is removed too, Serve returns
// hub.ErrClosed. A single-camera session ends at once.
func TestSessionOutlivesARemovedCamera(t *testing.T) {
	h := newEndingHub(t)
	s, err := Subscribe(h.Hub, metrics.New(), []string{"a", "b"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	one, err := Subscribe(h.Hub, metrics.New(), []string{"a"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer one.Close()
	<-h.started
	<-h.started
	out := newFakeConn(context.Background())
	close(out.room)
	done := make(chan error, 1)
	go func() { done <- s.Serve(out) }()
	oneOut := newFakeConn(context.Background())
	close(oneOut.room)
	oneDone := make(chan error, 1)
	go func() { oneDone <- one.Serve(oneOut) }()

	h.send("a", 1)
	<-out.wrote
	<-oneOut.wrote
	h.endSource("a")
	if err := <-oneDone; !errors.Is(err, hub.ErrClosed) {
		t.Errorf("the single-camera session of the removed camera ended with %v, want %v", err, hub.ErrClosed)
	}
	h.send("b", 2)
	select {
	case <-out.wrote:
	case err := <-done:
		t.Fatalf("the multiplexed session ended with %v when one of its cameras was removed", err)
	}
	h.endSource("b")
	select {
	case err := <-done:
		if !errors.Is(err, hub.ErrClosed) {
			t.Errorf("Serve ended with %v, want %v", err, hub.ErrClosed)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the session went on with all its cameras removed")
	}
	if got := out.seqs(); len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Errorf("frames written %v, want [1 2]", got)
	}
}
