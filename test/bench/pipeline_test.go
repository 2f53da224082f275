// Package bench measures the whole pipeline: a real RTSP camera (720p30
// H.264), the real capture and edge binaries and many MJPEG viewers played by
// the load client. Each benchmark reports its figures with b.ReportMetric;
// run it with `make bench`, which repeats every benchmark and prints medians.
package bench

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
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
	metrics string // capture's /metrics URL
	edges   []*harness.Process
	urls    []string
	tls     *tls.Config // the load client's, for https:// edges
}

type pipelineOptions struct {
	rtsp        *rtspserver.Server // nil: start one
	edges       int
	onDemand    bool
	edgeArgs    []string
	cameraExtra string
	captureEnv  []string // extra environment of capture, e.g. GOMAXPROCS=1
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
	captureHTTP := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(b))
	p.metrics = "http://" + captureHTTP + "/metrics"
	p.capture = harness.Start(b, harness.Bin(b, "capture"), []string{
		"--listen", p.grpc, "--http-listen", captureHTTP,
		"--config", path, "--log-level", "warn"}, o.captureEnv...)
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

// waitCaptureState waits until capture itself reports the camera in state
// (the edge's list may be a few seconds old).
func (p *pipeline) waitCaptureState(b *testing.B, state string) {
	b.Helper()
	want := fmt.Sprintf("camstream_capture_camera_state{camera=%q,state=%q} 1", camera, state)
	harness.WaitFor(b, 30*time.Second, "capture reports camera "+state, func() bool {
		resp, err := http.Get(p.metrics)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return err == nil && strings.Contains(string(body), want)
	})
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
	edgeUser, edgeSys   float64 // edgeCPU split into user and kernel time
	clientCPU           float64 // the load client (this process), % of one core
	machineBusy         float64 // all CPUs, % of the machine
	loadAvg             float64 // one-minute load average at the end
	edgeRSS             int64   // bytes, the largest edge
}

// measureUsage samples CPU from start to end and RSS near the end, in the
// background; wait for the result with the returned func.
func (p *pipeline) measureUsage(b *testing.B, start, end time.Time) func() usage {
	done := make(chan usage, 1)
	go func() {
		time.Sleep(time.Until(start))
		var u usage
		pids := []int{p.capture.Pid(), os.Getpid()}
		for _, e := range p.edges {
			pids = append(pids, e.Pid())
		}
		// CPU to the nanosecond from the meters; the edge's split into
		// user and kernel time from /proc's ticks.
		type cpuTimes struct{ user, sys time.Duration }
		before := make([]cpuTimes, len(pids))
		meters := make([]*harness.CPUMeter, len(pids))
		for i, pid := range pids {
			var err error
			if before[i].user, before[i].sys, err = harness.CPUTimes(pid); err != nil {
				b.Error(err)
			}
			if meters[i], err = harness.StartCPU(pid); err != nil {
				b.Error(err)
			}
		}
		busy0, total0, err := machineBusy()
		if err != nil {
			b.Error(err)
		}
		time.Sleep(time.Until(end) - 500*time.Millisecond)
		for _, e := range p.edges {
			if rss, err := harness.RSS(e.Pid()); err == nil {
				u.edgeRSS = max(u.edgeRSS, rss)
			}
		}
		time.Sleep(time.Until(end))
		for i, pid := range pids {
			if meters[i] == nil {
				continue
			}
			cpu, err := meters[i].Percent()
			if err != nil {
				continue
			}
			switch i {
			case 0:
				u.captureCPU = cpu
			case 1:
				u.clientCPU = cpu
			default:
				u.edgeCPU += cpu
				if u1, s1, err := harness.CPUTimes(pid); err == nil {
					user, sys := u1-before[i].user, s1-before[i].sys
					if user+sys > 0 {
						u.edgeUser += cpu * user.Seconds() / (user + sys).Seconds()
						u.edgeSys += cpu * sys.Seconds() / (user + sys).Seconds()
					}
				}
			}
		}
		if busy1, total1, err := machineBusy(); err == nil && total1 > total0 {
			u.machineBusy = 100 * float64(busy1-busy0) / float64(total1-total0)
		}
		u.loadAvg = loadAverage()
		done <- u
	}()
	return func() usage { return <-done }
}

// load runs the load client against every edge (viewers spread evenly) and
// measures the processes meanwhile.
func (p *pipeline) load(b *testing.B, viewers int, slowFraction float64) (loadclient.Result, usage) {
	b.Helper()
	slowRate := 0
	if slowFraction > 0 {
		slowRate = p.partSize(b) // one frame a second
	}
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
				SlowRate: slowRate, SlowReadBuffer: slowReadBuffer, SlowChunk: slowChunk,
				RampUp: ramp, Warmup: warmup, Duration: measured, TLS: p.tls,
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
	b.ReportMetric(u.edgeUser, "edge-user-%")
	b.ReportMetric(u.edgeSys, "edge-sys-%")
	b.ReportMetric(u.clientCPU, "client-cpu-%")
	b.ReportMetric(u.machineBusy, "machine-busy-%")
	b.ReportMetric(u.loadAvg, "loadavg")
	b.Logf("%s capture_cpu=%.1f%% edge_cpu=%.1f%% (user %.1f%%, sys %.1f%%) client_cpu=%.1f%% machine_busy=%.1f%% loadavg=%.2f edge_rss=%.1fMiB",
		res, u.captureCPU, u.edgeCPU, u.edgeUser, u.edgeSys, u.clientCPU, u.machineBusy, u.loadAvg, float64(u.edgeRSS)/(1<<20))
}

// Slow viewers' link: a small receive buffer (the kernel doubles it) read
// 1 KiB at a time at one frame's bytes a second.
const (
	slowReadBuffer = 4096
	slowChunk      = 1024
)

// partSize is the size of one MJPEG part of the camera: its snapshot plus
// the part's headers.
func (p *pipeline) partSize(b *testing.B) int {
	b.Helper()
	resp, err := http.Get(p.urls[0] + "/cameras/" + camera + "/snapshot.jpg")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("snapshot: status %d, %d bytes, %v", resp.StatusCode, n, err)
	}
	return int(n) + 150
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

// BenchmarkSlowViewers: 10 % of the viewers are on a link that carries one
// frame a second; the others must keep their rate and the slow ones must
// get fresh frames: a frame's wait before its first byte leaves the link
// (age minus transfer time) at most about one frame interval.
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
				b.ReportMetric(ms(res.SlowTransferP50), "slow-transfer-p50-ms")
				b.ReportMetric(ms(res.SlowWaitP50), "slow-wait-p50-ms")
				b.ReportMetric(ms(res.SlowWaitP90), "slow-wait-p90-ms")
				b.ReportMetric(ms(res.SlowWaitMax), "slow-wait-max-ms")
			}
		})
	}
}

// BenchmarkCaptureFlat: capture's CPU with one viewer on one edge against
// 1000 viewers spread over three edges. The bare loop runs alongside on the
// same camera, so capture/bare compares the two cases with the machine's
// load taken out.
func BenchmarkCaptureFlat(b *testing.B) {
	for _, c := range []struct{ edges, viewers int }{{1, 1}, {3, 1000}} {
		b.Run(fmt.Sprintf("edges=%d/viewers=%d", c.edges, c.viewers), func(b *testing.B) {
			p := startPipeline(b, pipelineOptions{edges: c.edges})
			for b.Loop() {
				bare := p.startBareLoop(b, c.viewers)
				res, u := p.load(b, c.viewers, 0)
				report(b, res, u)
				bare.report(b, u)
			}
		})
	}
}

// BenchmarkCaptureVsBareLoop: capture's CPU for one 720p30 camera with one
// viewer, against the bare loop (OpenCV read + JPEG encode, nothing else) on
// the same camera at the same quality. Both run at once and are measured
// over the same window, so that the machine's other load weighs on both
// alike (the camera's RTSP server encodes once for both).
//
// capture runs with its default GOMAXPROCS=1 and with Go's usual one P per
// core (2 here), to show what the default saves: the heavy work runs in C
// (FFmpeg, libjpeg) on threads of its own either way, and one P spares the
// scheduler's spinning and polling around those long C calls.
func BenchmarkCaptureVsBareLoop(b *testing.B) {
	for _, procs := range []int{1, runtime.NumCPU()} {
		b.Run(fmt.Sprintf("gomaxprocs=%d", procs), func(b *testing.B) {
			env := []string{fmt.Sprintf("GOMAXPROCS=%d", procs)}
			p := startPipeline(b, pipelineOptions{edges: 1, captureEnv: env})
			for b.Loop() {
				bare := p.startBareLoop(b, 1)
				res, u := p.load(b, 1, 0)
				report(b, res, u)
				bare.report(b, u)
			}
		})
	}
}

// bareRun is the bare loop running alongside one load.
type bareRun struct {
	proc *harness.Process
	cpu  func() float64
}

// startBareLoop starts the bare loop on the pipeline's camera, to be
// measured over the measured window of the load of viewers that follows.
func (p *pipeline) startBareLoop(b *testing.B, viewers int) *bareRun {
	ramp := time.Duration(viewers) * time.Millisecond // as in load
	proc := harness.Start(b, harness.Bin(b, "bareloop"), []string{
		"--source", p.rtsp.URL("/stream"), "--quality", "70",
		"--duration", (ramp + warmup + measured + 2*time.Second).String()})
	start := time.Now().Add(ramp + warmup)
	return &bareRun{proc: proc, cpu: cpuOver(b, proc.Pid(), start, start.Add(measured))}
}

// report waits for the bare loop and reports its CPU and capture's as a
// ratio to it.
func (r *bareRun) report(b *testing.B, u usage) {
	if err := r.proc.Wait(20 * time.Second); err != nil {
		b.Fatalf("bareloop: %v\n%s", err, r.proc.Output())
	}
	bare := r.cpu()
	b.Logf("bareloop: %s cpu=%.1f%%", strings.TrimSpace(r.proc.Output()), bare)
	b.ReportMetric(bare, "bare-cpu-%")
	b.ReportMetric(u.captureCPU/bare, "capture/bare")
}

// cpuOver measures pid's CPU (% of one core) from start to end in the
// background; wait for the result with the returned func.
func cpuOver(b *testing.B, pid int, start, end time.Time) func() float64 {
	done := make(chan float64, 1)
	go func() {
		time.Sleep(time.Until(start))
		m, err := harness.StartCPU(pid)
		if err != nil {
			b.Error(err)
			done <- 0
			return
		}
		time.Sleep(time.Until(end))
		pct, err := m.Percent()
		if err != nil {
			b.Error(err)
		}
		done <- pct
	}()
	return func() float64 { return <-done }
}

// BenchmarkFirstFrame: from a viewer's GET to its first part fully
// received, the median of several tries, with the edge holding no upstream
// for the camera (its grace is short and has passed): for a camera that is
// streaming, and for an on-demand camera that has gone idle (its source
// closed), which capture must open first.
func BenchmarkFirstFrame(b *testing.B) {
	const tries = 5
	for _, c := range []struct {
		name     string
		onDemand bool
	}{{"streaming", false}, {"on-demand-idle", true}} {
		b.Run(c.name, func(b *testing.B) {
			p := startPipeline(b, pipelineOptions{edges: 1, onDemand: c.onDemand, edgeArgs: []string{"--upstream-grace", "100ms"}})
			for b.Loop() {
				var ds []time.Duration
				for range tries {
					if c.onDemand {
						p.waitCaptureState(b, "idle")
					} else {
						time.Sleep(500 * time.Millisecond) // past the edge's upstream grace
					}
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					d, err := loadclient.FirstFrame(ctx, p.streamURL(0))
					cancel()
					if err != nil {
						b.Fatal(err)
					}
					ds = append(ds, d)
				}
				slices.Sort(ds)
				b.ReportMetric(ms(ds[len(ds)/2]), "first-frame-ms")
				b.ReportMetric(ms(ds[len(ds)-1]), "first-frame-max-ms")
				b.Logf("first frame after %v", ds)
			}
		})
	}
}
