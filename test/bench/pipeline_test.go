// Package bench measures the whole pipeline: a real RTSP camera (720p30
// H.264), the real capture and edge binaries and many MJPEG viewers played by
// the load client. Each benchmark reports its figures with b.ReportMetric;
// run it with `make bench`, which repeats every benchmark and prints medians.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/camstream/camstream/test/harness"
	"github.com/camstream/camstream/test/loadclient"
	"github.com/camstream/camstream/test/rtspserver"
)

const (
	camera   = "bench"
	warmup   = 3 * time.Second
	measured = 10 * time.Second
)

// pipeline is one RTSP server, one capture and some edges.
type pipeline struct {
	rtsp    *rtspserver.Server
	capture *harness.Process
	grpc    string
	edges   []*harness.Process
	urls    []string
}

type pipelineOptions struct {
	rtsp        *rtspserver.Server // nil: start one
	edges       int
	onDemand    bool
	edgeArgs    []string
	cameraExtra string
}

func startPipeline(b *testing.B, o pipelineOptions) *pipeline {
	b.Helper()
	p := &pipeline{rtsp: o.rtsp}
	if p.rtsp == nil {
		p.rtsp = startCamera(b)
	}
	cfg := fmt.Sprintf("cameras:\n  - id: %s\n    name: Bench camera\n    source: %s\n    quality: 70\n",
		camera, p.rtsp.URL("/stream"))
	if o.onDemand {
		cfg += "    on_demand: true\n    idle_timeout: 1s\n"
	}
	cfg += o.cameraExtra
	path := filepath.Join(b.TempDir(), "cameras.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	p.grpc = fmt.Sprintf("127.0.0.1:%d", harness.FreePort(b))
	p.capture = harness.Start(b, harness.Bin(b, "capture"), []string{
		"--listen", p.grpc, "--http-listen", fmt.Sprintf("127.0.0.1:%d", harness.FreePort(b)),
		"--config", path, "--log-level", "warn"})
	for range max(o.edges, 1) {
		addr := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(b))
		args := append([]string{"--listen", addr, "--capture", p.grpc, "--log-level", "warn"}, o.edgeArgs...)
		p.edges = append(p.edges, harness.Start(b, harness.Bin(b, "edge"), args))
		p.urls = append(p.urls, "http://"+addr)
	}
	for _, u := range p.urls {
		harness.WaitHTTP(b, u+"/readyz", 20*time.Second)
	}
	if !o.onDemand {
		p.waitState(b, "CAMERA_STATE_STREAMING")
	}
	return p
}

// startCamera starts the benchmark camera: 720p30 H.264 of SMPTE bars,
// which at JPEG quality 70 gives frames of about 50 KB, like a real scene.
func startCamera(b *testing.B) *rtspserver.Server {
	return rtspserver.Start(b, rtspserver.Options{Pattern: "smpte"})
}

// waitState waits until the edge's API reports the camera in state.
func (p *pipeline) waitState(b *testing.B, state string) {
	b.Helper()
	harness.WaitFor(b, 30*time.Second, "camera "+state, func() bool {
		c, err := p.cameraInfo()
		return err == nil && c.State == state
	})
}

type cameraInfo struct {
	ID          string  `json:"id"`
	State       string  `json:"state"`
	FPS         float64 `json:"fps"`
	Subscribers int     `json:"subscribers"`
}

func (p *pipeline) cameraInfo() (cameraInfo, error) {
	resp, err := http.Get(p.urls[0] + "/api/cameras")
	if err != nil {
		return cameraInfo{}, err
	}
	defer resp.Body.Close()
	var list struct{ Cameras []cameraInfo }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return cameraInfo{}, err
	}
	for _, c := range list.Cameras {
		if c.ID == camera {
			return c, nil
		}
	}
	return cameraInfo{}, fmt.Errorf("camera %q not listed", camera)
}

func (p *pipeline) streamURL(edge int) string {
	return p.urls[edge] + "/cameras/" + camera + "/stream.mjpeg"
}

// usage is what the processes used during the measured window.
type usage struct {
	captureCPU, edgeCPU float64 // % of one core
	edgeRSS             int64   // bytes, the largest edge
}

// measureUsage samples CPU from start to end and RSS near the end, in the
// background; wait for the result with the returned func.
func (p *pipeline) measureUsage(b *testing.B, start, end time.Time) func() usage {
	done := make(chan usage, 1)
	go func() {
		time.Sleep(time.Until(start))
		var u usage
		capture, err := harness.StartCPU(p.capture.Pid())
		if err != nil {
			b.Error(err)
		}
		var edges []*harness.CPUMeter
		for _, e := range p.edges {
			m, err := harness.StartCPU(e.Pid())
			if err != nil {
				b.Error(err)
			}
			edges = append(edges, m)
		}
		time.Sleep(time.Until(end) - 500*time.Millisecond)
		for _, e := range p.edges {
			if rss, err := harness.RSS(e.Pid()); err == nil {
				u.edgeRSS = max(u.edgeRSS, rss)
			}
		}
		time.Sleep(time.Until(end))
		if capture != nil {
			u.captureCPU, _ = capture.Percent()
		}
		for _, m := range edges {
			if m != nil {
				pct, _ := m.Percent()
				u.edgeCPU += pct
			}
		}
		done <- u
	}()
	return func() usage { return <-done }
}

// load runs the load client against every edge (viewers spread evenly) and
// measures the processes meanwhile.
func (p *pipeline) load(b *testing.B, viewers int, slowFraction float64) (loadclient.Result, usage) {
	b.Helper()
	ramp := time.Duration(viewers) * time.Millisecond
	start := time.Now().Add(ramp + warmup)
	wait := p.measureUsage(b, start, start.Add(measured))
	results := make(chan loadclient.Result, len(p.urls))
	for i := range p.urls {
		n := viewers / len(p.urls)
		if i < viewers%len(p.urls) {
			n++
		}
		go func() {
			res, err := loadclient.Run(context.Background(), loadclient.Config{
				URL: p.streamURL(i), Viewers: n, SlowFraction: slowFraction,
				SlowInterval: time.Second, SlowReadBuffer: 64 << 10,
				RampUp: ramp, Warmup: warmup, Duration: measured,
			})
			if err != nil {
				b.Error(err)
			}
			results <- res
		}()
	}
	var all []loadclient.Result
	for range p.urls {
		all = append(all, <-results)
	}
	res := all[0]
	for _, r := range all[1:] {
		res.Viewers += r.Viewers
		res.Failed += r.Failed
		res.FPSMin = min(res.FPSMin, r.FPSMin)
		res.LatencyP99 = max(res.LatencyP99, r.LatencyP99)
		res.BytesPerSec += r.BytesPerSec
	}
	if res.Failed > 0 {
		b.Errorf("%d of %d viewers failed: %v", res.Failed, res.Viewers, res.Errors)
	}
	return res, wait()
}

func report(b *testing.B, res loadclient.Result, u usage) {
	b.ReportMetric(res.FPSMedian, "fps-median")
	b.ReportMetric(res.FPSMin, "fps-min")
	b.ReportMetric(ms(res.LatencyP50), "latency-p50-ms")
	b.ReportMetric(ms(res.LatencyP99), "latency-p99-ms")
	b.ReportMetric(u.edgeCPU, "edge-cpu-%")
	b.ReportMetric(u.captureCPU, "capture-cpu-%")
	b.ReportMetric(u.edgeCPU+u.captureCPU, "total-cpu-%")
	b.ReportMetric(float64(u.edgeRSS)/(1<<20), "edge-rss-MiB")
	b.ReportMetric(res.BytesPerSec/1e6, "MB/s")
	b.Logf("%s capture_cpu=%.1f%% edge_cpu=%.1f%% edge_rss=%.1fMiB", res, u.captureCPU, u.edgeCPU, float64(u.edgeRSS)/(1<<20))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkViewers: N viewers of one 720p30 camera on one edge.
func BenchmarkViewers(b *testing.B) {
	for _, n := range []int{1, 100, 500, 1000} {
		b.Run(fmt.Sprintf("viewers=%d", n), func(b *testing.B) {
			p := startPipeline(b, pipelineOptions{edges: 1})
			for b.Loop() {
				res, u := p.load(b, n, 0)
				report(b, res, u)
			}
		})
	}
}

// BenchmarkSlowViewers: 10 % of the viewers read one frame a second; the
// others must keep their rate and the slow ones must get fresh frames.
func BenchmarkSlowViewers(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("viewers=%d", n), func(b *testing.B) {
			p := startPipeline(b, pipelineOptions{edges: 1})
			for b.Loop() {
				res, u := p.load(b, n, 0.1)
				report(b, res, u)
				b.ReportMetric(res.SlowFPSMedian, "slow-fps")
				b.ReportMetric(ms(res.SlowAgeP50), "slow-age-p50-ms")
				b.ReportMetric(ms(res.SlowAgeMax), "slow-age-max-ms")
			}
		})
	}
}

// BenchmarkCaptureFlat: capture's CPU with one viewer on one edge against
// 1000 viewers spread over three edges.
func BenchmarkCaptureFlat(b *testing.B) {
	for _, c := range []struct{ edges, viewers int }{{1, 1}, {3, 1000}} {
		b.Run(fmt.Sprintf("edges=%d/viewers=%d", c.edges, c.viewers), func(b *testing.B) {
			p := startPipeline(b, pipelineOptions{edges: c.edges})
			for b.Loop() {
				res, u := p.load(b, c.viewers, 0)
				report(b, res, u)
			}
		})
	}
}

// BenchmarkCaptureVsBareLoop: capture's CPU for one 720p30 camera with one
// viewer, against the bare loop (OpenCV read + JPEG encode, nothing else) on
// the same camera at the same quality, measured one after the other.
func BenchmarkCaptureVsBareLoop(b *testing.B) {
	rtsp := startCamera(b)
	for b.Loop() {
		bare := harness.Start(b, harness.Bin(b, "bareloop"), []string{
			"--source", rtsp.URL("/stream"), "--quality", "70", "--duration", (warmup + measured + time.Second).String()})
		time.Sleep(warmup)
		m, err := harness.StartCPU(bare.Pid())
		if err != nil {
			b.Fatal(err)
		}
		time.Sleep(measured)
		bareCPU, err := m.Percent()
		if err != nil {
			b.Fatal(err)
		}
		if err := bare.Wait(10 * time.Second); err != nil {
			b.Fatalf("bareloop: %v\n%s", err, bare.Output())
		}
		b.Logf("bareloop: %s", bare.Output())

		p := startPipeline(b, pipelineOptions{rtsp: rtsp, edges: 1})
		res, u := p.load(b, 1, 0)
		p.stop()
		report(b, res, u)
		b.ReportMetric(bareCPU, "bare-cpu-%")
		b.ReportMetric(u.captureCPU/bareCPU, "capture/bare")
	}
}

// stop ends the pipeline's processes (the camera keeps running).
func (p *pipeline) stop() {
	for _, e := range p.edges {
		e.Kill()
	}
	p.capture.Kill()
}
