package web

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/camstream/camstream/services/edge/internal/capturetest"
)

func TestBadWidthIs400(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, path := range []string{"/cameras/a1/stream.mjpeg", "/cameras/a1/snapshot.jpg", "/streams.mjpeg"} {
		for _, w := range []string{"0", "-1", "-320", "abc", "320px", "1e3", "99999999999999999999999", ""} {
			resp, err := http.Get(e.url + path + "?width=" + w)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "width") {
				t.Errorf("%s?width=%s: %d %q, want 400 naming the width", path, w, resp.StatusCode, body)
			}
		}
	}
}

// Viewers of one camera at widths that snap to the same step share one
// upstream at that width; a width not below the camera's own is the full
// size; every size of the camera has its own upstream.
func TestOneUpstreamPerCameraAndSize(t *testing.T) {
	e := newEnv(t, envOptions{capture: capturetest.Options{Width: 1280}})
	capture := e.captures["capture-a"]
	paths := []string{
		"/cameras/a1/stream.mjpeg?width=320",
		"/cameras/a1/stream.mjpeg?width=390",
		"/cameras/a1/stream.mjpeg?width=479",
		"/streams.mjpeg?cameras=a1,a2&width=400",
		"/cameras/a1/stream.mjpeg",
		"/cameras/a1/stream.mjpeg?width=1280",
		"/cameras/a1/stream.mjpeg?width=5000",
		"/cameras/a1/stream.mjpeg?width=100",
	}
	for _, p := range paths {
		openStream(t, e.url+p).next(t)
	}
	for _, tt := range []struct {
		id          string
		width, want int
	}{
		{"a1", 320, 1}, {"a2", 320, 1}, {"a1", 0, 1}, {"a1", 160, 1}, {"a1", 1280, 0}, {"a1", 1920, 0},
	} {
		if got := capture.StreamsOpenedAt(tt.id, tt.width); got != tt.want {
			t.Errorf("StreamFrames calls for %s at width %d: %d, want %d", tt.id, tt.width, got, tt.want)
		}
	}
	if got := capture.Subscribers("a1"); got != 3 {
		t.Errorf("open upstreams of a1: %d, want 3 (widths 160, 320 and the full size)", got)
	}
	_, body := get(t, e.url+"/metrics")
	for _, want := range []string{
		`camstream_edge_size_viewers{camera="a1",width="320"} 4`,
		`camstream_edge_size_viewers{camera="a1",width="160"} 1`,
		`camstream_edge_size_upstreams{camera="a1",width="320"} 1`,
		`camstream_edge_size_upstreams{camera="a2",width="320"} 1`,
		`camstream_edge_viewers{camera="a1"} 8`,
		`camstream_edge_upstreams{camera="a1"} 3`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
