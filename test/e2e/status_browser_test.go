package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/camstream/camstream/test/harness"
	"github.com/camstream/camstream/test/rtspserver"
)

// browserChartPixels counts, per status card's chart canvas, the pixels of
// the fps line's colour (#2563eb) and hashes the canvas: a drawn line has
// such pixels, and a chart that moves with time changes its hash.
const browserChartPixels = `() => Array.from(document.querySelectorAll(".status-card .chart canvas")).map((c) => {
  const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  let line = 0, h = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i + 3] > 0 && Math.abs(d[i] - 37) < 40 && Math.abs(d[i + 1] - 99) < 40 && Math.abs(d[i + 2] - 235) < 40) line++;
    h = (Math.imul(h, 31) + d[i] + d[i + 1] + d[i + 2] + d[i + 3]) | 0;
  }
  return line + ":" + h;
})`

// Chromium loads /status with four cameras, three test patterns and one
// RTSP camera, each watched: every card's chart draws its fps line and
// changes as the seconds pass; when the RTSP camera's server stops, its
// card says it is down within 5 s. /api/status has the figures.
func TestBrowserStatusPage(t *testing.T) {
	srv := rtspserver.Start(t, rtspserver.Options{Width: 320, Height: 240, FPS: 10})
	cams := append(edgeTestCameras("cam", 3), edgeCamera{ID: "door", Name: "Door", Source: srv.URL("/stream"), FPS: 10, Width: 320})
	capture := edgeStartCapture(t, cams)
	edge := edgeStartEdge(t, []string{capture.grpcAddr})
	for _, c := range cams {
		s := edgeOpenStream(t, edge.url+"/cameras/"+c.ID+"/stream.mjpeg")
		go func() { _, _ = io.Copy(io.Discard, s.resp.Body) }()
	}
	// cam-1 has a second viewer, of its 160-px size.
	small := edgeOpenStream(t, edge.url+"/cameras/cam-1/stream.mjpeg?width=160")
	go func() { _, _ = io.Copy(io.Discard, small.resp.Body) }()

	b := browserStart(t)
	b.do(t, 30*time.Second, chromedp.Navigate(edge.url+"/status"), chromedp.WaitVisible(".status-card"))
	var first []string
	harness.WaitFor(t, 30*time.Second, "4 charts with their fps line drawn", func() bool {
		first = b.chartPixels(t)
		if len(first) != len(cams) {
			return false
		}
		for _, p := range first {
			if strings.HasPrefix(p, "0:") {
				return false
			}
		}
		return true
	})
	harness.WaitFor(t, 15*time.Second, "every chart changes", func() bool {
		now := b.chartPixels(t)
		for i := range now {
			if i >= len(first) || now[i] == first[i] {
				return false
			}
		}
		return true
	})
	if got := b.text(t, `document.querySelector('[data-camera="cam-2"] .state').textContent`); got != "streaming" {
		t.Errorf("cam-2 state on /status = %q, want streaming", got)
	}

	// Sizes in flight reach the edge with its next poll of capture; a
	// history has a sample a second (a busy machine may have two by now).
	var st statusAPI
	harness.WaitFor(t, 10*time.Second, "cam-1's 160-px size and 3 s of history on /api/status", func() bool {
		st = apiStatus(t, edge.url)
		sized := false
		for _, c := range st.Cameras {
			if len(c.History.T) < 3 {
				return false
			}
			sized = sized || (c.ID == "cam-1" && len(c.Sizes) == 1)
		}
		return sized
	})
	for _, c := range st.Cameras {
		wantViewers, wantSizes := 1.0, "[]"
		if c.ID == "cam-1" {
			wantViewers, wantSizes = 2, "[160]"
		}
		var sizes []int
		for _, z := range c.Sizes {
			sizes = append(sizes, z.Width)
		}
		if got := fmt.Sprint(sizes); got != wantSizes {
			t.Errorf("/api/status camera %s: sizes in flight %s, want %s", c.ID, got, wantSizes)
		}
		if c.Viewers != wantViewers || c.FPS < 5 || c.BytesPerSecond <= 0 || c.LatencyP99MS == nil || len(c.History.T) < 3 {
			t.Errorf("/api/status camera %s: viewers %v fps %v bytes/s %v p99 %v history %d s; want %v viewers, ~10 fps, bytes, a latency, a history",
				c.ID, c.Viewers, c.FPS, c.BytesPerSecond, c.LatencyP99MS, len(c.History.T), wantViewers)
		}
	}
	if len(st.Captures) != 1 || st.Captures[0].State != "up" || st.Captures[0].Cameras != len(cams) {
		t.Errorf("/api/status captures = %+v, want one, up, with %d cameras", st.Captures, len(cams))
	}
	b.screenshot(t, "status.png")

	srv.Stop()
	stopped := time.Now()
	harness.WaitFor(t, 5*time.Second, "the stopped camera's card says down", func() bool {
		return b.text(t, `String(document.querySelector('[data-camera="door"]').classList.contains("down") && !document.querySelector('[data-camera="door"] .down-label').hidden)`) == "true"
	})
	t.Logf("stopped camera shown down after %v", time.Since(stopped).Round(10*time.Millisecond))
	if got := b.text(t, `document.querySelector('[data-camera="cam-1"]').dataset.state`); got != "streaming" {
		t.Errorf("cam-1 after door's server stopped: %q, want streaming", got)
	}
	b.screenshot(t, "status-down.png")
	if errs := b.exceptions(); len(errs) > 0 {
		t.Errorf("JavaScript exceptions on /status:\n%s", strings.Join(errs, "\n"))
	}
}

func (b *browser) chartPixels(t *testing.T) []string {
	t.Helper()
	var out []string
	if err := json.Unmarshal([]byte(b.text(t, fmt.Sprintf("JSON.stringify((%s)())", browserChartPixels))), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

type statusAPI struct {
	Captures []struct {
		Address, State string
		Cameras        int
	}
	Cameras []struct {
		ID             string
		State          string
		Sizes          []struct{ Width int }
		FPS            float64
		Viewers        float64
		BytesPerSecond float64  `json:"bytes_per_second"`
		LatencyP99MS   *float64 `json:"latency_p99_ms"`
		History        struct {
			T []int64 `json:"t"`
		}
	}
}

func apiStatus(t *testing.T, base string) statusAPI {
	t.Helper()
	resp, err := http.Get(base + "/api/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st statusAPI
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/api/status: %d, %v", resp.StatusCode, err)
	}
	return st
}
