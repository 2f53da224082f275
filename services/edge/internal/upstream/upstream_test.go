package upstream

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/camstream/camstream/services/edge/internal/capturetest"
	"github.com/camstream/camstream/services/edge/internal/catalog"
	"github.com/camstream/camstream/services/edge/internal/hub"
	"github.com/camstream/camstream/services/edge/internal/metrics"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newPool(t *testing.T, n *capturetest.Network, cfg Config) *Pool {
	t.Helper()
	cfg.DialOptions = append(cfg.DialOptions, n.DialOption())
	p, err := New(discard(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(p.Close)
	return p
}

func ids(t *testing.T, p *Pool) string {
	t.Helper()
	cams, err := p.Cameras()
	if err != nil {
		return "error: " + err.Error()
	}
	var s []string
	for _, c := range cams {
		s = append(s, c.GetId())
	}
	return strings.Join(s, ",")
}

// frameSink collects what a Stream publishes.
type frameSink struct {
	mu     sync.Mutex
	frames []*hub.Frame
}

func (s *frameSink) publish(f *hub.Frame) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.frames = append(s.frames, f)
}

func (s *frameSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.frames)
}

func (s *frameSink) last() *hub.Frame {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.frames[len(s.frames)-1]
}

func TestParseTarget(t *testing.T) {
	tests := []struct {
		raw     string
		want    target
		wantErr bool
	}{
		{raw: "localhost:50051", want: target{raw: "localhost:50051"}},
		{raw: " capture:50051 ", want: target{raw: "capture:50051"}},
		{raw: "passthrough:///a", want: target{raw: "passthrough:///a"}},
		{raw: "dns:///capture-headless:50051", want: target{raw: "dns:///capture-headless:50051", dns: true, host: "capture-headless", port: "50051"}},
		{raw: "dns:capture:50051", want: target{raw: "dns:capture:50051", dns: true, host: "capture", port: "50051"}},
		{raw: "dns://8.8.8.8/capture:50051", wantErr: true},
		{raw: "dns:///capture", wantErr: true},
		{raw: "", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseTarget(tt.raw)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseTarget(%q) = %+v, %v; want %+v, error %v", tt.raw, got, err, tt.want, tt.wantErr)
		}
	}
}

// Two captures own different cameras: the pool lists all of them and opens
// each camera's stream on the capture that owns it.
func TestRoutesEachCameraToItsCapture(t *testing.T) {
	n := capturetest.NewNetwork()
	a := capturetest.Start(t, n, "capture-a", capturetest.Options{Cameras: []string{"a1", "a2"}})
	b := capturetest.Start(t, n, "capture-b", capturetest.Options{Cameras: []string{"b1"}})
	p := newPool(t, n, Config{Targets: []string{capturetest.Target("capture-a"), capturetest.Target("capture-b")}})

	p.Refresh(context.Background())
	if got, want := ids(t, p), "a1,a2,b1"; got != want {
		t.Fatalf("cameras = %s, want %s", got, want)
	}
	if !p.Ready() {
		t.Errorf("Ready = false with both captures answering, want true")
	}

	for _, tt := range []struct {
		camera   string
		owner    *capturetest.Capture
		notOwner *capturetest.Capture
		wantJPEG string
	}{
		{"b1", b, a, "\xff\xd8b1 "},
		{"a2", a, b, "\xff\xd8a2 "},
	} {
		sink := streamOf(t, p, tt.camera)
		capturetest.WaitFor(t, tt.camera+" frames", func() bool { return sink.count() >= 3 })
		f := sink.last()
		if !strings.HasPrefix(string(f.JPEG), tt.wantJPEG) || f.CameraID != tt.camera {
			t.Errorf("%s frame: camera %q, JPEG %q; want camera %q, JPEG starting %q", tt.camera, f.CameraID, f.JPEG[:8], tt.camera, tt.wantJPEG)
		}
		if got := tt.owner.Subscribers(tt.camera); got != 1 {
			t.Errorf("owner's subscribers of %s = %d, want 1", tt.camera, got)
		}
		if got := tt.notOwner.StreamsOpened(tt.camera); got != 0 {
			t.Errorf("streams of %s opened on the other capture = %d, want 0", tt.camera, got)
		}
	}
}

func TestCameraErrors(t *testing.T) {
	n := capturetest.NewNetwork()
	a := capturetest.Start(t, n, "capture-a", capturetest.Options{Cameras: []string{"a1"}})
	capturetest.Start(t, n, "capture-b", capturetest.Options{Cameras: []string{"b1"}})
	m := metrics.New()
	p := newPool(t, n, Config{Targets: []string{capturetest.Target("capture-a"), capturetest.Target("capture-b")}, Metrics: m})
	ctx := context.Background()
	up := func(name string) float64 {
		return testutil.ToFloat64(m.CaptureUp.WithLabelValues(capturetest.Target(name)))
	}

	if _, err := p.Camera(ctx, "a1"); err != nil {
		t.Errorf("Camera(a1) before the first poll: %v, want found (an unknown camera triggers a poll)", err)
	}
	if _, err := p.Camera(ctx, "nope"); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("Camera(nope): err = %v, want %v", err, catalog.ErrNotFound)
	}

	if a, b := up("capture-a"), up("capture-b"); a != 1 || b != 1 {
		t.Errorf("camstream_edge_capture_up with both answering: a=%v b=%v, want 1 and 1", a, b)
	}

	a.Stop()
	p.Refresh(ctx)
	if a, b := up("capture-a"), up("capture-b"); a != 0 || b != 1 {
		t.Errorf("camstream_edge_capture_up with capture-a down: a=%v b=%v, want 0 and 1", a, b)
	}
	cam, err := p.Camera(ctx, "a1")
	if !errors.Is(err, catalog.ErrUnavailable) || cam == nil {
		t.Errorf("Camera(a1) with its capture down = %v, %v; want the camera and %v", cam, err, catalog.ErrUnavailable)
	}
	if got, want := ids(t, p), "a1,b1"; got != want {
		t.Errorf("cameras with capture-a down = %s, want %s (kept, so viewers wait for it)", got, want)
	}
	if _, err := p.Snapshot(ctx, "a1", 0); !errors.Is(err, catalog.ErrUnavailable) {
		t.Errorf("Snapshot(a1) with its capture down: err = %v, want %v", err, catalog.ErrUnavailable)
	}
	if f, err := p.Snapshot(ctx, "b1", 0); err != nil || f.GetCameraId() != "b1" {
		t.Errorf("Snapshot(b1) = %v, %v; want a frame of b1", f, err)
	}
}

func TestNoCaptureAnswers(t *testing.T) {
	n := capturetest.NewNetwork()
	p := newPool(t, n, Config{Targets: []string{capturetest.Target("nobody")}})
	p.Refresh(context.Background())
	if p.Ready() {
		t.Errorf("Ready = true with no capture answering, want false")
	}
	if _, err := p.Cameras(); !errors.Is(err, catalog.ErrUnavailable) {
		t.Errorf("Cameras: err = %v, want %v", err, catalog.ErrUnavailable)
	}
	if _, err := p.Camera(context.Background(), "x"); !errors.Is(err, catalog.ErrUnavailable) {
		t.Errorf("Camera: err = %v, want %v", err, catalog.ErrUnavailable)
	}
}

// A capture that goes away and comes back: the stream reconnects by itself
// and frames flow again.
func TestStreamResumesAfterCaptureRestart(t *testing.T) {
	n := capturetest.NewNetwork()
	c := capturetest.Start(t, n, "capture", capturetest.Options{Cameras: []string{"cam"}})
	p := newPool(t, n, Config{Targets: []string{capturetest.Target("capture")}})
	p.Refresh(context.Background())

	sink := streamOf(t, p, "cam")
	capturetest.WaitFor(t, "first frames", func() bool { return sink.count() >= 3 })
	c.Stop()
	time.Sleep(300 * time.Millisecond)
	before := sink.count()
	c.Start()
	capturetest.WaitFor(t, "frames after the capture came back", func() bool { return sink.count() >= before+3 })
	if got := c.Subscribers("cam"); got != 1 {
		t.Errorf("subscribers after reconnect = %d, want 1", got)
	}
}

type fakeResolver struct {
	mu    sync.Mutex
	addrs map[string][]string
}

func (r *fakeResolver) set(host string, addrs ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.addrs[host] = addrs
}

func (r *fakeResolver) LookupHost(_ context.Context, host string) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a, ok := r.addrs[host]; ok {
		return a, nil
	}
	return nil, errors.New("no such host")
}

// dns:///name:port expands to one client per address, and follows the name
// when addresses come and go.
func TestDNSTargetExpandsToEveryAddress(t *testing.T) {
	n := capturetest.NewNetwork()
	// The addresses only name in-memory listeners; nothing is dialled.
	capturetest.Start(t, n, "192.0.2.1:50051", capturetest.Options{Cameras: []string{"one"}})
	capturetest.Start(t, n, "192.0.2.2:50051", capturetest.Options{Cameras: []string{"two"}})
	r := &fakeResolver{addrs: map[string][]string{}}
	r.set("capture-headless", "192.0.2.2", "192.0.2.1")
	p := newPool(t, n, Config{Targets: []string{"dns:///capture-headless:50051"}, Resolver: r})
	ctx := context.Background()

	p.resolve(ctx)
	p.Refresh(ctx)
	if got, want := ids(t, p), "one,two"; got != want {
		t.Errorf("cameras = %s, want %s", got, want)
	}

	r.set("capture-headless", "192.0.2.2")
	p.resolve(ctx)
	p.Refresh(ctx)
	if got, want := ids(t, p), "two"; got != want {
		t.Errorf("cameras after an address left = %s, want %s", got, want)
	}

	r.set("capture-headless") // lookup errors keep what is known
	delete(r.addrs, "capture-headless")
	p.resolve(ctx)
	p.Refresh(ctx)
	if got, want := ids(t, p), "two"; got != want {
		t.Errorf("cameras after a failed lookup = %s, want %s", got, want)
	}
}

func TestRunPollsUntilCancelled(t *testing.T) {
	n := capturetest.NewNetwork()
	p := newPool(t, n, Config{Targets: []string{capturetest.Target("late")}, PollInterval: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Run(ctx)
	}()
	defer func() {
		cancel()
		<-done
	}()
	capturetest.Start(t, n, "late", capturetest.Options{Cameras: []string{"x"}})
	capturetest.WaitFor(t, "Ready after the capture started", p.Ready)
}

func TestRetryDelay(t *testing.T) {
	d := retryDelay{min: 100 * time.Millisecond, max: time.Second}
	var prevMax time.Duration
	for i := range 10 {
		got := d.next()
		if got < d.cur/2 || got > d.cur || d.cur > d.max || d.cur < prevMax {
			t.Fatalf("attempt %d: delay %v with step %v, want within [step/2, step], step non-decreasing up to %v", i, got, d.cur, d.max)
		}
		prevMax = d.cur
	}
	if d.cur != d.max {
		t.Errorf("step after 10 attempts = %v, want the cap %v", d.cur, d.max)
	}
	d.reset()
	if got := d.next(); got > d.min {
		t.Errorf("delay after reset = %v, want <= %v", got, d.min)
	}
}
