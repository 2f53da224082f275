package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/camstream/camstream/services/edge/mjpeg"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeSource counts the sources the hub starts and hands their publish
// funcs to the test.
type fakeSource struct {
	started atomic.Int32
	running atomic.Int32
	publish chan func(*Frame)
	stopped chan string
}

func newFakeSource() *fakeSource {
	return &fakeSource{publish: make(chan func(*Frame), 16), stopped: make(chan string, 16)}
}

func (s *fakeSource) run(ctx context.Context, cameraID string, publish func(*Frame)) {
	s.started.Add(1)
	s.running.Add(1)
	s.publish <- publish
	<-ctx.Done()
	s.running.Add(-1)
	s.stopped <- cameraID
}

func frame(seq uint64) *Frame {
	return NewFrame(mjpeg.Frame{CameraID: "cam", Seq: seq, CapturedAt: time.Now(), JPEG: []byte(fmt.Sprint("jpeg ", seq))}, 64, 48)
}

func newHub(t *testing.T, src Source, grace time.Duration) *Hub {
	t.Helper()
	h := New(slog.New(slog.NewTextHandler(io.Discard, nil)), src, grace)
	t.Cleanup(h.Close)
	return h
}

func subscribe(t *testing.T, h *Hub, id string) (*Feed, func()) {
	t.Helper()
	feed, release, err := h.Subscribe(id)
	if err != nil {
		t.Fatalf("Subscribe(%q): %v", id, err)
	}
	return feed, release
}

func TestNewFrameJPEGIsInsidePart(t *testing.T) {
	f := frame(42)
	if got, want := string(f.JPEG), "jpeg 42"; got != want {
		t.Errorf("JPEG = %q, want %q", got, want)
	}
	if got, want := string(f.Part), string(mjpeg.AppendPart(nil, mjpeg.Frame{CameraID: "cam", Seq: 42, CapturedAt: f.CapturedAt, JPEG: f.JPEG})); got != want {
		t.Errorf("Part = %q, want %q", got, want)
	}
}

// One slow viewer beside fast ones: publishing never waits for anyone, the
// fast viewers see frames in order up to the last, and the slow viewer gets
// the newest frame when it comes back, not the next one in a queue.
func TestLatestFrameWinsWithSlowViewer(t *testing.T) {
	src := newFakeSource()
	h := newHub(t, src.run, time.Minute)
	feed, release := subscribe(t, h, "cam")
	defer release()
	publish := <-src.publish

	publish(frame(1))
	slow, err := feed.Next(context.Background(), nil)
	if err != nil || slow.Seq != 1 {
		t.Fatalf("slow viewer's first frame = %v, %v; want seq 1", slow, err)
	}

	const last = 500
	const fastViewers = 8
	var wg sync.WaitGroup
	errs := make(chan error, fastViewers)
	ready := make(chan struct{}, fastViewers)
	for range fastViewers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var got *Frame
			var err error
			got, err = feed.Next(ctx, nil)
			ready <- struct{}{}
			for err == nil && got.Seq < last {
				prev := got
				got, err = feed.Next(ctx, prev)
				if err == nil && got.Seq <= prev.Seq {
					err = fmt.Errorf("fast viewer got seq %d after %d, want increasing", got.Seq, prev.Seq)
				}
			}
			errs <- err
		}()
	}
	for range fastViewers {
		<-ready
	}
	for seq := uint64(2); seq <= last; seq++ {
		publish(frame(seq)) // returns at once although the slow viewer reads nothing
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}

	got, err := feed.Next(context.Background(), slow)
	if err != nil {
		t.Fatal(err)
	}
	if got.Seq != last {
		t.Errorf("slow viewer's next frame has seq %d, want the newest %d", got.Seq, last)
	}
	if skipped := got.Skipped(slow); skipped != last-2 {
		t.Errorf("Skipped = %d, want %d", skipped, last-2)
	}
}

func TestNextReturnsNewestFrameAtOnceAndWaitsForNewer(t *testing.T) {
	src := newFakeSource()
	h := newHub(t, src.run, time.Minute)
	feed, release := subscribe(t, h, "cam")
	defer release()
	publish := <-src.publish

	if got := feed.Latest(); got != nil {
		t.Errorf("Latest before any frame = seq %d, want nil", got.Seq)
	}
	publish(frame(7))
	// A new viewer of a streaming camera gets the current frame without waiting.
	got, err := feed.Next(context.Background(), nil)
	if err != nil || got.Seq != 7 {
		t.Fatalf("Next(nil) = %v, %v; want seq 7", got, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := feed.Next(ctx, got); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Next with no newer frame: err = %v, want %v", err, context.DeadlineExceeded)
	}
}

func TestOneSourcePerCameraWithGrace(t *testing.T) {
	src := newFakeSource()
	const grace = 100 * time.Millisecond
	h := newHub(t, src.run, grace)

	var releases []func()
	for range 5 {
		_, release := subscribe(t, h, "cam")
		releases = append(releases, release)
	}
	_, releaseOther := subscribe(t, h, "other")
	<-src.publish
	<-src.publish
	if got := src.started.Load(); got != 2 {
		t.Fatalf("sources started for 5 viewers of one camera and 1 of another = %d, want 2", got)
	}

	for _, release := range releases {
		release()
	}
	releases[0]() // a second call is harmless
	// Back within the grace period: the running source is kept.
	_, release := subscribe(t, h, "cam")
	if got := src.started.Load(); got != 2 {
		t.Errorf("sources started after a viewer came back within the grace period = %d, want 2", got)
	}
	release()
	select {
	case id := <-src.stopped:
		if id != "cam" {
			t.Errorf("stopped source of %q, want cam", id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("source still running 10 s after its last viewer left")
	}
	if got, want := h.Feeds(), 1; got != want {
		t.Errorf("Feeds = %d, want %d", got, want)
	}
	releaseOther()
}

func TestCloseEndsViewers(t *testing.T) {
	src := newFakeSource()
	h := newHub(t, src.run, time.Minute)
	feed, release := subscribe(t, h, "cam")
	defer release()
	<-src.publish

	errc := make(chan error, 1)
	go func() {
		_, err := feed.Next(context.Background(), nil)
		errc <- err
	}()
	h.Close()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Errorf("Next after Close: err = %v, want %v", err, ErrClosed)
	}
	if _, _, err := h.Subscribe("cam"); !errors.Is(err, ErrClosed) {
		t.Errorf("Subscribe after Close: err = %v, want %v", err, ErrClosed)
	}
	if got := src.running.Load(); got != 0 {
		t.Errorf("sources running after Close = %d, want 0", got)
	}
}

// BenchmarkFanOut delivers each frame to n waiting viewers; allocs/op stay
// the same for every n (one frame and its channel, nothing per viewer).
func BenchmarkFanOut(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("viewers=%d", n), func(b *testing.B) {
			src := newFakeSource()
			h := New(slog.New(slog.NewTextHandler(io.Discard, nil)), src.run, time.Minute)
			defer h.Close()
			feed, release, _ := h.Subscribe("cam")
			defer release()
			publish := <-src.publish

			frames := make([]*Frame, 2)
			for i := range frames {
				frames[i] = frame(uint64(i))
			}
			ctx, cancel := context.WithCancel(context.Background())
			var taken atomic.Int64
			allTaken := make(chan struct{}, 1)
			var wg sync.WaitGroup
			for range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var last *Frame
					for {
						fr, err := feed.Next(ctx, last)
						if err != nil {
							return
						}
						last = fr
						if taken.Add(1) == int64(n) {
							allTaken <- struct{}{}
						}
					}
				}()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				taken.Store(0)
				fr := *frames[i%2]
				publish(&fr)
				<-allTaken
			}
			b.StopTimer()
			cancel()
			wg.Wait()
		})
	}
}
