package status

import (
	"math"
	"testing"
	"time"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/services/edge/internal/metrics"
)

type list []*camstreamv1.Camera

func (l *list) Cameras() ([]*camstreamv1.Camera, error) { return *l, nil }

func TestSamplesFromTheMetrics(t *testing.T) {
	m := metrics.New()
	streaming := camstreamv1.CameraState_CAMERA_STATE_STREAMING
	cams := &list{{Id: "front", Fps: 15, State: streaming}, {Id: "yard", Fps: 10, State: camstreamv1.CameraState_CAMERA_STATE_RECONNECTING}}
	r := New(m, cams)
	t0 := time.Unix(1000, 0)

	m.Viewers.WithLabelValues("front").Set(3)
	m.BytesSent.WithLabelValues("front").Add(1000)
	r.Sample(t0)

	// One second: 100 frames to front's viewers, 90 of them 4 ms late
	// (bucket 2.5–5 ms) and 10 of them 40 ms (25–50 ms).
	m.BytesSent.WithLabelValues("front").Add(50000)
	for range 90 {
		m.FrameLatency.WithLabelValues("front").Observe(0.004)
	}
	for range 10 {
		m.FrameLatency.WithLabelValues("front").Observe(0.040)
	}
	r.Sample(t0.Add(time.Second))

	h := r.History("front")
	if len(h) != 2 {
		t.Fatalf("front: %d samples, want 2", len(h))
	}
	s := h[1]
	if s.FPS != 15 || s.Viewers != 3 || s.BytesPerSec != 50000 {
		t.Errorf("front: fps %v viewers %v bytes/s %v, want 15, 3, 50000", s.FPS, s.Viewers, s.BytesPerSec)
	}
	// p50: rank 50 of 90 in (2.5, 5] ms; p99: rank 99, the 9th of 10 in (25, 50] ms.
	if want := 2.5 + 2.5*50/90; !(math.Abs(s.P50-want) < 1e-9) {
		t.Errorf("front: p50 %v ms, want %v", s.P50, want)
	}
	if want := 25 + 25*9.0/10; !(math.Abs(s.P99-want) < 1e-9) {
		t.Errorf("front: p99 %v ms, want %v", s.P99, want)
	}
	if y, ok := last(r, "yard"); !ok || y.Viewers != 0 || !math.IsNaN(y.P50) || y.FPS != 0 {
		t.Errorf("yard (reconnecting, no viewers): %+v, %v; want 0 fps, 0 viewers and no latency", y, ok)
	}

	// A second with no frames has no latency.
	r.Sample(t0.Add(2 * time.Second))
	if s, _ := last(r, "front"); !math.IsNaN(s.P99) || s.BytesPerSec != 0 {
		t.Errorf("front, idle second: p99 %v bytes/s %v, want NaN and 0", s.P99, s.BytesPerSec)
	}

	// A camera no capture lists any more is forgotten.
	*cams = (*cams)[:1]
	r.Sample(t0.Add(3 * time.Second))
	if h := r.History("yard"); h != nil {
		t.Errorf("yard after removal: %d samples, want none", len(h))
	}
}

func TestRingKeepsTheWindow(t *testing.T) {
	r := New(metrics.New(), &list{{Id: "a"}})
	t0 := time.Unix(0, 0)
	n := int(Window/time.Second) + 7
	for i := range n {
		r.Sample(t0.Add(time.Duration(i) * time.Second))
	}
	h := r.History("a")
	if len(h) != int(Window/time.Second) {
		t.Fatalf("%d samples, want %d", len(h), int(Window/time.Second))
	}
	if first, last := h[0].Time.Unix(), h[len(h)-1].Time.Unix(); first != 7 || last != int64(n-1) {
		t.Errorf("window %d..%d s, want 7..%d, oldest first", first, last, n-1)
	}
}

// last is a camera's newest sample.
func last(r *Recorder, id string) (Sample, bool) {
	h := r.History(id)
	if len(h) == 0 {
		return Sample{}, false
	}
	return h[len(h)-1], true
}
