package camera

import (
	"context"
	"errors"
	"image"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"gocv.io/x/gocv"

	"github.com/camstream/camstream/services/capture/internal/backoff"
	"github.com/camstream/camstream/services/capture/internal/config"
	"github.com/camstream/camstream/services/capture/internal/source"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const wait = 20 * time.Second // generous: the machine may be busy

func testCamera(t *testing.T, id, src string) config.Camera {
	t.Helper()
	s, err := config.ParseSource(src)
	if err != nil {
		t.Fatal(err)
	}
	return config.Camera{ID: id, Name: id, Source: s, Quality: 80, IdleTimeout: 10 * time.Second}
}

func quietOptions() Options {
	return Options{
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		NewBackoff: func() *backoff.Backoff {
			return &backoff.Backoff{Min: 10 * time.Millisecond, Max: 50 * time.Millisecond}
		},
	}
}

// run starts c's loop and stops it when the test ends.
func run(t *testing.T, c *Camera) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(wait):
			t.Error("capture loop did not stop after its context ended")
		}
	})
}

func waitState(t *testing.T, c *Camera, want State) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for c.State() != want {
		if time.Now().After(deadline) {
			st := c.Status()
			t.Fatalf("camera %s state = %v (last error %q), want %v", st.ID, st.State, st.LastError, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// frames reads n frames from c as a subscriber.
func frames(t *testing.T, c *Camera, n int) []*frameInfo {
	t.Helper()
	release := c.Subscribe()
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var out []*frameInfo
	var last uint64
	for range n {
		f, err := c.Next(ctx, last)
		if err != nil {
			t.Fatalf("frame %d of %d: %v (state %v)", len(out)+1, n, err, c.State())
		}
		last = f.Seq
		out = append(out, &frameInfo{seq: f.Seq, w: f.Width, h: f.Height, jpeg: f.JPEG, at: f.CapturedAt})
	}
	return out
}

type frameInfo struct {
	seq  uint64
	w, h int
	jpeg []byte
	at   time.Time
}

func TestStreamsEncodedFrames(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		width    int
		wantSize image.Point
	}{
		{"as the source gives", "test://ball", 0, image.Pt(640, 360)},
		{"shrunk keeping aspect", "test://smpte", 320, image.Pt(320, 180)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testCamera(t, "cam", tt.src)
			cfg.Width = tt.width
			cfg.FPS = 50
			c := New(cfg, quietOptions())
			run(t, c)
			got := frames(t, c, 40) // 0.8 s: past the first fps estimate
			for i, f := range got {
				if image.Pt(f.w, f.h) != tt.wantSize {
					t.Fatalf("frame %d size = %dx%d, want %v", i, f.w, f.h, tt.wantSize)
				}
				if i > 0 && f.seq <= got[i-1].seq {
					t.Fatalf("frame %d seq %d after %d, want increasing", i, f.seq, got[i-1].seq)
				}
			}
			img, err := gocv.IMDecode(got[0].jpeg, gocv.IMReadColor)
			if err != nil || img.Empty() {
				t.Fatalf("first frame is not a JPEG: %v", err)
			}
			defer img.Close()
			if p := image.Pt(img.Cols(), img.Rows()); p != tt.wantSize {
				t.Errorf("decoded JPEG is %v, want %v", p, tt.wantSize)
			}
			st := c.Status()
			if st.State != StateStreaming || st.Width != tt.wantSize.X || st.Height != tt.wantSize.Y || st.Frames < 20 {
				t.Errorf("status = %+v, want streaming %v with at least 20 frames", st, tt.wantSize)
			}
			if st.FPS <= 0 {
				t.Errorf("measured fps = %v, want > 0", st.FPS)
			}
		})
	}
}

// fake is a scripted source.
type fake struct {
	interval  time.Duration
	failAfter int  // read error after this many frames (0 = never)
	panics    bool // panic on the first read
	size      image.Point
	// stallEvery, when set, makes every stallEvery-th read block until
	// resume receives, like a camera that keeps its connection open and
	// sends nothing.
	stallEvery int64
	resume     chan struct{}

	reads  atomic.Int64
	closed atomic.Bool
}

func (f *fake) Read(ctx context.Context, dst *gocv.Mat) error {
	if f.panics {
		var m map[string]int
		m["boom"]++ // a nil-map write: a real runtime panic
	}
	n := f.reads.Add(1)
	if f.failAfter > 0 && n > int64(f.failAfter) {
		return errors.New("stream lost")
	}
	if f.stallEvery > 0 && n%f.stallEvery == 0 {
		select {
		case <-f.resume:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	select {
	case <-time.After(f.interval):
	case <-ctx.Done():
		return ctx.Err()
	}
	size := f.size
	if size == (image.Point{}) {
		size = image.Pt(160, 120)
	}
	m := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(float64(n%255), 0, 0, 0), size.Y, size.X, gocv.MatTypeCV8UC3)
	defer m.Close()
	m.CopyTo(dst)
	return nil
}

func (f *fake) Close() error {
	f.closed.Store(true)
	return nil
}

// opener hands out sources from make and counts the opens.
type opener struct {
	mu    sync.Mutex
	opens int
	fail  error
	make  func() *fake
	last  *fake
}

func (o *opener) open(ctx context.Context, src config.Source, opts source.Options) (source.Source, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.opens++
	if o.fail != nil {
		return nil, o.fail
	}
	o.last = o.make()
	return o.last, nil
}

func (o *opener) lastSource() *fake {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.last
}

func (o *opener) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.opens
}

func TestFPSCap(t *testing.T) {
	o := &opener{make: func() *fake { return &fake{interval: 5 * time.Millisecond} }}
	opts := quietOptions()
	opts.Open = o.open
	cfg := testCamera(t, "capped", "test://")
	cfg.FPS = 10
	c := New(cfg, opts)
	run(t, c)
	got := frames(t, c, 11)
	// 11 frames at a 10 fps cap span at least ~1 s (less a quarter frame of
	// tolerance), while the source gives 200 fps. A busy machine only makes
	// this longer.
	if d := got[10].at.Sub(got[0].at); d < 700*time.Millisecond {
		t.Errorf("11 frames capped at 10 fps span %v, want about 1s", d)
	}
}

func TestReconnectsAfterLoss(t *testing.T) {
	o := &opener{make: func() *fake { return &fake{interval: time.Millisecond, failAfter: 20} }}
	opts := quietOptions()
	opts.Open = o.open
	var mu sync.Mutex
	var seen []State
	s := NewSet([]config.Camera{testCamera(t, "flaky", "test://")}, opts)
	s.OnStateChange(func(id string, st State) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, st)
	})
	c, _ := s.Get("flaky")
	run(t, c)
	deadline := time.Now().Add(wait)
	for o.count() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("source opened %d times, want it reopened after each loss", o.count())
		}
		time.Sleep(5 * time.Millisecond)
	}
	frames(t, c, 5) // frames flow again after a loss
	st := c.Status()
	if st.Reconnects < 2 {
		t.Errorf("reconnects = %d, want at least 2", st.Reconnects)
	}
	mu.Lock()
	defer mu.Unlock()
	joined := stateList(seen)
	if !strings.Contains(joined, "streaming,reconnecting,streaming") {
		t.Errorf("states = %s, want streaming,reconnecting,streaming in order", joined)
	}
}

// A source whose read blocks (a stalled camera) is reported reconnecting
// by the watchdog while the read still hangs, and streaming again when
// frames resume, without a reopen; a second stall is noticed as fast.
func TestStalledSourceIsReportedReconnecting(t *testing.T) {
	resume := make(chan struct{})
	o := &opener{make: func() *fake { return &fake{interval: 5 * time.Millisecond, stallEvery: 20, resume: resume} }}
	opts := quietOptions()
	opts.Open = o.open
	opts.StallAfter = 200 * time.Millisecond
	c := New(testCamera(t, "stall", "test://"), opts)
	run(t, c)
	var resumed time.Time
	for stall := 1; stall <= 2; stall++ {
		waitState(t, c, StateStreaming)
		waitState(t, c, StateReconnecting)
		// After a 1 s pause, a watchdog that took the pause for the
		// source's frame interval would wait 4 s before reporting again;
		// the usual interval is 5 ms.
		if stall == 2 && time.Since(resumed) > 3*time.Second {
			t.Errorf("second stall reported %v after frames resumed, want the usual 0.2 s (at most 3 s)", time.Since(resumed))
		}
		st := c.Status()
		if !strings.Contains(st.LastError, "stalled") {
			t.Errorf("stall %d: last error = %q, want it to say the source stalled", stall, st.LastError)
		}
		if got := o.count(); got != 1 {
			t.Errorf("stall %d: source opened %d times while the read hangs, want 1", stall, got)
		}
		time.Sleep(time.Second) // a long pause must not make the next stall slower to notice
		resume <- struct{}{}
		resumed = time.Now()
		waitState(t, c, StateStreaming)
		if st := c.Status(); st.LastError != "" || st.Reconnects != 0 {
			t.Errorf("stall %d: after it ended: last error %q, reconnects %d; want none", stall, st.LastError, st.Reconnects)
		}
	}
}

func stateList(states []State) string {
	var s []string
	for _, st := range states {
		s = append(s, st.String())
	}
	return strings.Join(s, ",")
}

func TestSourceThatNeverOpensFails(t *testing.T) {
	o := &opener{fail: errors.New("open rtsp://***@cam/x: the stream did not open")}
	opts := quietOptions()
	opts.Open = o.open
	c := New(testCamera(t, "broken", "test://"), opts)
	run(t, c)
	waitState(t, c, StateFailed)
	deadline := time.Now().Add(wait)
	for o.count() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("source tried %d times, want retries with backoff", o.count())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st := c.Status(); st.LastError != o.fail.Error() || st.FPS != 0 {
		t.Errorf("status = %+v, want last error %q and 0 fps", st, o.fail)
	}
	if f, fresh := c.Latest(); f != nil || fresh {
		t.Errorf("Latest of a camera that never opened = %v, %v; want nil, false", f, fresh)
	}
}

// A camera whose loop panics is reported failed; the others keep going.
func TestPanicIsContained(t *testing.T) {
	bad := &opener{make: func() *fake { return &fake{panics: true} }}
	opts := quietOptions()
	s := NewSet([]config.Camera{testCamera(t, "good", "test://"), testCamera(t, "bad", "test://")}, opts)
	badCam, _ := s.Get("bad")
	badCam.opts.Open = bad.open
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx)
	}()
	defer func() {
		cancel()
		<-done
	}()
	waitState(t, badCam, StateFailed)
	if st := badCam.Status(); !strings.Contains(st.LastError, "panicked") {
		t.Errorf("last error = %q, want it to report the panic", st.LastError)
	}
	if last := bad.lastSource(); last == nil || !last.closed.Load() {
		t.Error("the panicking camera's source was not closed")
	}
	good, _ := s.Get("good")
	frames(t, good, 5)
}

func TestOnDemand(t *testing.T) {
	o := &opener{make: func() *fake { return &fake{interval: 2 * time.Millisecond} }}
	opts := quietOptions()
	opts.Open = o.open
	cfg := testCamera(t, "lazy", "test://")
	cfg.OnDemand = true
	cfg.IdleTimeout = 200 * time.Millisecond
	c := New(cfg, opts)
	run(t, c)

	time.Sleep(100 * time.Millisecond)
	if got := c.State(); got != StateIdle || o.count() != 0 {
		t.Fatalf("before any subscriber: state %v, %d opens; want idle, 0", got, o.count())
	}
	frames(t, c, 3) // subscribes, then leaves
	if got := c.Status().Subscribers; got != 0 {
		t.Errorf("subscribers after leaving = %d, want 0", got)
	}
	waitState(t, c, StateIdle)
	if !o.lastSource().closed.Load() {
		t.Error("source still open after the camera went idle")
	}
	// Idle only after idle_timeout: a new subscriber within it keeps the
	// same source open.
	frames(t, c, 3)
	opens := o.count()
	release := c.Subscribe()
	frames(t, c, 3)
	time.Sleep(400 * time.Millisecond) // longer than idle_timeout, but subscribed
	if got := c.State(); got != StateStreaming {
		t.Errorf("state with a subscriber after idle_timeout = %v, want streaming", got)
	}
	if o.count() != opens {
		t.Errorf("source reopened while subscribed: %d opens, want %d", o.count(), opens)
	}
	release()
	waitState(t, c, StateIdle)
}

func TestStateStrings(t *testing.T) {
	want := "starting,streaming,reconnecting,failed,idle"
	if got := stateList(States()); got != want {
		t.Errorf("states = %s, want %s", got, want)
	}
	for _, s := range States() {
		if got, want := s.Healthy(), s == StateStreaming || s == StateIdle; got != want {
			t.Errorf("%v.Healthy() = %v, want %v", s, got, want)
		}
	}
}
