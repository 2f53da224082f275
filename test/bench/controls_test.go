package bench

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camstream/camstream/test/harness"
	"github.com/camstream/camstream/test/rtspserver"
)

// benchControls are the picture controls measured: a rotate, two masks
// and an overlay with the time in seconds.
const benchControls = `    rotate: 180
    masks:
      - {x: 40, y: 40, width: 320, height: 180}
      - {points: [[900, 500], [1200, 520], [1100, 700]], color: "#202020"}
    overlay: {text: "{name} %Y-%m-%d %H:%M:%S", corner: bottom-right}
`

// BenchmarkControlsCaptureCPU: capture's CPU for the 720p30 RTSP camera
// with picture controls (rotate 180, two masks, an overlay) against a
// second capture process on the same camera without any, both running at
// once and measured over the same window, so that the machine's other
// load weighs on both alike. No viewer: capture encodes each frame anyway.
// controls/plain is the cost of the controls.
func BenchmarkControlsCaptureCPU(b *testing.B) {
	cam := startCamera(b)
	plain := startCaptureOnly(b, cam, "")
	controls := startCaptureOnly(b, cam, benchControls)
	for b.Loop() {
		time.Sleep(warmup)
		start := time.Now()
		plainCPU := cpuOver(b, plain.Pid(), start, start.Add(measured))
		controlsCPU := cpuOver(b, controls.Pid(), start, start.Add(measured))
		p, c := plainCPU(), controlsCPU()
		b.ReportMetric(p, "plain-cpu-%")
		b.ReportMetric(c, "controls-cpu-%")
		b.ReportMetric(c/p, "controls/plain")
		b.ReportMetric(loadAverage(), "load-1m")
	}
}

// startCaptureOnly starts a capture process with the benchmark camera,
// its entry ending with extra, and waits until it streams.
func startCaptureOnly(b *testing.B, cam *rtspserver.Server, extra string) *harness.Process {
	b.Helper()
	cfg := fmt.Sprintf("cameras:\n  - id: %s\n    name: Bench camera\n    source: %s\n    quality: 70\n%s",
		camera, cam.URL("/stream"), extra)
	path := filepath.Join(b.TempDir(), "cameras.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	httpAddr := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(b))
	proc := harness.Start(b, harness.Bin(b, "capture"), []string{
		"--listen", fmt.Sprintf("127.0.0.1:%d", harness.FreePort(b)), "--http-listen", httpAddr,
		"--config", path, "--log-level", "warn"})
	want := fmt.Sprintf("camstream_capture_camera_state{camera=%q,state=%q} 1", camera, "streaming")
	harness.WaitFor(b, 30*time.Second, "capture streams the camera", func() bool {
		resp, err := http.Get("http://" + httpAddr + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return err == nil && strings.Contains(string(body), want)
	})
	return proc
}
