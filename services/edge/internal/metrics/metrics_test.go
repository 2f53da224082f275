package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

// The names are part of the public interface (dashboards, alerts).
func TestNamesAsDesigned(t *testing.T) {
	m := New()
	m.Viewers.WithLabelValues("front").Set(3)
	m.FramesSent.WithLabelValues("front").Add(10)
	m.FramesSkipped.WithLabelValues("front").Add(2)
	m.FrameLatency.WithLabelValues("front").Observe(0.004)
	m.Upstreams.WithLabelValues("front").Set(1)
	m.BytesSent.WithLabelValues("front").Add(5000)
	m.CaptureUp.WithLabelValues("capture-0:50051").Set(1)
	m.MaxViewers.Set(100)

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`camstream_edge_viewers{camera="front"} 3`,
		`camstream_edge_frames_sent_total{camera="front"} 10`,
		`camstream_edge_frames_skipped_total{camera="front"} 2`,
		`camstream_edge_frame_latency_seconds_bucket{camera="front",le="0.005"} 1`,
		`camstream_edge_bytes_sent_total{camera="front"} 5000`,
		`camstream_edge_capture_up{capture="capture-0:50051"} 1`,
		`camstream_edge_max_viewers 100`,
		`camstream_edge_upstreams{camera="front"} 1`,
		`go_goroutines`,
		`process_resident_memory_bytes`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
