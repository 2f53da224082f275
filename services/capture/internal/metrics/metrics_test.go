package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/camstream/camstream/services/capture/internal/camera"
)

func TestExposition(t *testing.T) {
	statuses := func() []camera.Status {
		return []camera.Status{
			{ID: "front", State: camera.StateStreaming, Frames: 42, Reconnects: 2, Subscribers: 3},
			{ID: "back", State: camera.StateFailed},
		}
	}
	m := New(statuses)
	m.FrameEncoded("front", 3*time.Millisecond, 50<<10)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	text := string(body)
	for _, want := range []string{
		`camstream_capture_frames_total{camera="front"} 42`,
		`camstream_capture_frames_total{camera="back"} 0`,
		`camstream_capture_reconnects_total{camera="front"} 2`,
		`camstream_capture_camera_state{camera="front",state="streaming"} 1`,
		`camstream_capture_camera_state{camera="front",state="failed"} 0`,
		`camstream_capture_camera_state{camera="back",state="failed"} 1`,
		`camstream_capture_subscribers{camera="front"} 3`,
		`camstream_capture_encode_seconds_count 1`,
		`camstream_capture_frame_bytes_sum 51200`,
		`go_goroutines `,
		`process_cpu_seconds_total `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", text)
	}
}
