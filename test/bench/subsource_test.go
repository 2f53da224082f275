package bench

import (
	"context"
	"fmt"
	"image"
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

// subGridCameras is the number of cameras of the sub_source benchmark's
// grid, and subGridFPS their frame rate: 8 streams of 720p30 would need
// more than this 2-core machine to decode, which would cap both figures.
const (
	subGridCameras = 8
	subGridFPS     = 15
)

// subGridConfig is the camera file of the sub_source benchmark: for each
// of n cameras one on the main stream only (main-N), one with the
// sub-stream as its sub_source (sub-N) and one with it and picture
// controls (ctl-N: rotate 180, a mask and an overlay, which the
// sub-stream's pictures get scaled), all on demand, so only the watched
// ones decode.
func subGridConfig(rtsp *rtspserver.Server, n int) string {
	var b strings.Builder
	b.WriteString("cameras:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - id: main-%d\n    source: %s\n    quality: 70\n    on_demand: true\n    idle_timeout: 1s\n",
			i+1, rtsp.URL("/main"))
		fmt.Fprintf(&b, "  - id: sub-%d\n    source: %s\n    sub_source: %s\n    quality: 70\n    on_demand: true\n    idle_timeout: 1s\n",
			i+1, rtsp.URL("/main"), rtsp.URL("/sub"))
		fmt.Fprintf(&b, "  - id: ctl-%d\n    source: %s\n    sub_source: %s\n    quality: 70\n    on_demand: true\n    idle_timeout: 1s\n"+
			"    rotate: 180\n    masks: [{x: 100, y: 100, width: 400, height: 300}]\n    overlay: {text: \"{name} %%H:%%M:%%S\"}\n",
			i+1, rtsp.URL("/main"), rtsp.URL("/sub"))
	}
	return b.String()
}

// BenchmarkSubSourceGridCPU: capture's CPU for a grid of 8 cameras, each
// watched at ?width=320 through one /streams.mjpeg (as the grid page
// does), whose RTSP camera gives a 1280×720 main stream and a 640×360
// sub-stream (H.264, 15 fps): first 8 cameras without a sub_source (the
// main streams decoded), then 8 with one (the sub-streams decoded), then
// 8 with one and picture controls (the sub-streams decoded and given the
// scaled controls; each main stream opened once, for its size), measured
// one after the other in each run.
func BenchmarkSubSourceGridCPU(b *testing.B) {
	rtsp := rtspserver.Start(b, rtspserver.Options{Pattern: "smpte", FPS: subGridFPS, Paths: []string{"/main"},
		Sizes: map[string]image.Point{"/sub": {640, 360}}})
	cfg := filepath.Join(b.TempDir(), "cameras.yaml")
	if err := os.WriteFile(cfg, []byte(subGridConfig(rtsp, subGridCameras)), 0o600); err != nil {
		b.Fatal(err)
	}
	grpcAddr := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(b))
	metrics := fmt.Sprintf("http://127.0.0.1:%d/metrics", harness.FreePort(b))
	capture := harness.Start(b, harness.Bin(b, "capture"), []string{"--listen", grpcAddr,
		"--http-listen", strings.TrimSuffix(strings.TrimPrefix(metrics, "http://"), "/metrics"),
		"--config", cfg, "--log-level", "warn"})
	edgeAddr := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(b))
	harness.Start(b, harness.Bin(b, "edge"), []string{"--listen", edgeAddr, "--capture", grpcAddr,
		"--log-level", "warn", "--upstream-grace", "200ms"})
	harness.WaitHTTP(b, "http://"+edgeAddr+"/readyz", 20*time.Second)
	grid := func(prefix string) float64 {
		ids := make([]string, subGridCameras)
		for i := range ids {
			ids[i] = fmt.Sprintf("%s-%d", prefix, i+1)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		watch(ctx, b, "http://"+edgeAddr+"/streams.mjpeg?width=320&cameras="+strings.Join(ids, ","))
		time.Sleep(2 * warmup) // eight RTSP sessions open
		start := time.Now()
		cpu := cpuOver(b, capture.Pid(), start, start.Add(measured))()
		if got := scrape(b, metrics, `state="streaming"} 1`); got != subGridCameras {
			b.Fatalf("%s grid: %d cameras or sub-streams streaming at the end, want %d", prefix, got, subGridCameras)
		}
		cancel()
		harness.WaitFor(b, 30*time.Second, prefix+" cameras idle again", func() bool {
			return scrape(b, metrics, `state="streaming"} 1`) == 0
		})
		return cpu
	}
	for b.Loop() {
		mainCPU := grid("main")
		subCPU := grid("sub")
		ctlCPU := grid("ctl")
		b.ReportMetric(mainCPU, "main-decoded-cpu-%")
		b.ReportMetric(subCPU, "sub-decoded-cpu-%")
		b.ReportMetric(ctlCPU, "sub-controls-cpu-%")
		b.ReportMetric(subCPU/mainCPU, "sub/main")
		b.ReportMetric(ctlCPU/subCPU, "sub-controls/sub")
	}
}

// scrape counts the lines of capture's metrics at url that end in suffix.
func scrape(b *testing.B, url, suffix string) int {
	resp, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for line := range strings.SplitSeq(string(body), "\n") {
		if strings.HasPrefix(line, "camstream_capture_") && strings.HasSuffix(line, suffix) {
			n++
		}
	}
	return n
}
