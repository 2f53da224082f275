package bench

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"
)

// watch reads url until ctx ends, discarding what comes, as a viewer.
func watch(ctx context.Context, b *testing.B, url string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		b.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatalf("GET %s: %v", url, err)
	}
	go func() {
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
	}()
}

// BenchmarkSizeCaptureCPU: capture's CPU for the 720p30 RTSP camera with
// one viewer of the full size, then with one viewer at ?width=320 besides
// it (a second size encoded from each decoded frame), measured one after
// the other in each run. sized/full is the cost of the second size.
func BenchmarkSizeCaptureCPU(b *testing.B) {
	p := startPipeline(b, pipelineOptions{edges: 1})
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		watch(ctx, b, p.streamURL(0))
		time.Sleep(warmup)
		start := time.Now()
		full := cpuOver(b, p.capture.Pid(), start, start.Add(measured))()

		watch(ctx, b, p.streamURL(0)+"?width=320")
		time.Sleep(warmup)
		start = time.Now()
		sized := cpuOver(b, p.capture.Pid(), start, start.Add(measured))()
		cancel()
		b.ReportMetric(full, "full-cpu-%")
		b.ReportMetric(sized, "full+320-cpu-%")
		b.ReportMetric(sized/full, "sized/full")
		time.Sleep(time.Second) // the edge's upstreams close
	}
}
