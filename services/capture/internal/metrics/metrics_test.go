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
			{ID: "back", State: camera.StateFailed, Sub: &camera.SubStatus{State: camera.StateStreaming}},
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
		`camstream_capture_sub_state{camera="back",state="streaming"} 1`,
		`camstream_capture_sub_state{camera="back",state="idle"} 0`,
		`camstream_capture_encode_seconds_count 1`,
		`camstream_capture_frame_bytes_sum 51200`,
		`go_goroutines `,
		`process_cpu_seconds_total `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(text, `camstream_capture_sub_state{camera="front"`) {
		t.Error("metrics have a sub_state for front, a camera without a sub_source")
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", text)
	}
}

// The reload counter shows both results from the start; a refused reload
// leaves the time of the last success alone.
func TestConfigReloads(t *testing.T) {
	m := New(func() []camera.Status { return nil })
	scrape := func() string {
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		return rec.Body.String()
	}
	text := scrape()
	for _, want := range []string{
		`camstream_capture_config_reloads_total{result="success"} 0`,
		`camstream_capture_config_reloads_total{result="error"} 0`,
		`camstream_capture_config_last_reload_success_timestamp_seconds `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics at start lack %q:\n%s", want, text)
		}
	}
	at := time.Unix(1700000000, 500_000_000)
	m.ConfigReloaded(true, at)
	m.ConfigReloaded(false, at.Add(time.Hour))
	m.ConfigReloaded(false, at.Add(2*time.Hour))
	text = scrape()
	for _, want := range []string{
		`camstream_capture_config_reloads_total{result="success"} 1`,
		`camstream_capture_config_reloads_total{result="error"} 2`,
		`camstream_capture_config_last_reload_success_timestamp_seconds 1.7000000005e+09`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics after one success and two errors lack %q:\n%s", want, text)
		}
	}
}
