package e2e

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/test/harness"
	"github.com/camstream/camstream/test/rtspserver"
)

// BenchmarkCaptureRTSPCamera measures bin/capture reading one 720p30 H.264
// RTSP camera (decode, JPEG encode at quality 80) with 1 and with 100
// subscribers: the CPU capture uses (percent of one core, over 20 s), the
// frames per second each subscriber gets, and the time from process start
// to the first frame. Run it alone: it measures for 20 s per case.
//
//	go test ./e2e -run '^$' -bench CaptureRTSPCamera -benchtime 1x
func BenchmarkCaptureRTSPCamera(b *testing.B) {
	for _, subs := range []int{1, 100} {
		b.Run(fmt.Sprintf("subscribers=%d", subs), func(b *testing.B) {
			for range b.N {
				measureCaptureCamera(b, subs, 20*time.Second)
			}
		})
	}
}

func measureCaptureCamera(b *testing.B, subs int, window time.Duration) {
	srv := rtspserver.Start(b, rtspserver.Options{})
	cfg := captureConfig(b, fmt.Sprintf("cameras:\n  - id: cam\n    source: rtsp://127.0.0.1:%d/stream\n", srv.Port()))
	c := captureLaunch(b, []string{"--config", cfg})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var frames atomic.Int64
	var first sync.Once
	firstFrame := make(chan time.Duration, 1)
	var wg sync.WaitGroup
	for range subs {
		wg.Go(func() {
			for ctx.Err() == nil {
				stream, err := c.client.StreamFrames(ctx, &camstreamv1.StreamFramesRequest{CameraId: "cam"})
				if err != nil {
					time.Sleep(20 * time.Millisecond)
					continue
				}
				for {
					if _, err := stream.Recv(); err != nil {
						break
					}
					first.Do(func() { firstFrame <- time.Since(c.started) })
					frames.Add(1)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	select {
	case d := <-firstFrame:
		b.ReportMetric(d.Seconds()*1000, "ms-to-first-frame")
	case <-time.After(captureWait):
		b.Fatalf("no frame within %v", captureWait)
	}
	time.Sleep(2 * time.Second) // past the burst of frames buffered while probing
	cpu, err := harness.StartCPU(c.Pid())
	if err != nil {
		b.Fatal(err)
	}
	start := frames.Load()
	time.Sleep(window)
	pct, err := cpu.Percent()
	if err != nil {
		b.Fatal(err)
	}
	got := frames.Load() - start
	cancel()
	wg.Wait()
	b.ReportMetric(pct, "cpu%")
	b.ReportMetric(float64(got)/window.Seconds()/float64(subs), "fps/subscriber")
	rss, err := harness.RSS(c.Pid())
	if err == nil {
		b.ReportMetric(float64(rss)/(1<<20), "MiB-rss")
	}
}
