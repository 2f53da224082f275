package bench

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/test/harness"
	"github.com/camstream/camstream/test/loadclient"
	"github.com/camstream/camstream/test/rtspserver"
)

// BenchmarkReload: capture's camera file replaced the kubelet's way, five
// times a run, each time adding a camera (and removing the one added
// before) while an RTSP camera (640x360 at 30 fps) streams unchanged.
// Figures: time from the swap to the new camera's first frame, at capture
// (gRPC) and through an edge (a viewer asking until it gets one); the
// unchanged camera's largest gap between capture times during a reload,
// against the largest in a window of the same length without one.
func BenchmarkReload(b *testing.B) {
	const rounds, fps = 5, 30
	srv := rtspserver.Start(b, rtspserver.Options{Width: 640, Height: 360, FPS: fps, Pattern: "smpte"})
	steady := fmt.Sprintf("  - id: steady\n    source: %s\n    quality: 70\n", srv.URL("/stream"))
	file := func(round int) string {
		f := "cameras:\n" + steady
		if round > 0 {
			f += fmt.Sprintf("  - id: fresh-%d\n    source: test://ball\n    fps: 15\n    width: 640\n", round)
		}
		return f
	}
	dir, path := harness.KubeletMount(b, "cameras.yaml", map[string]string{"cameras.yaml": file(0)})
	grpcAddr := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(b))
	httpAddr := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(b))
	harness.Start(b, harness.Bin(b, "capture"), []string{"--listen", grpcAddr, "--http-listen", httpAddr, "--config", path, "--log-level", "warn"})
	edgeAddr := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(b))
	harness.Start(b, harness.Bin(b, "edge"), []string{"--listen", edgeAddr, "--capture", grpcAddr, "--log-level", "warn"})
	harness.WaitHTTP(b, "http://"+httpAddr+"/readyz", 30*time.Second)
	harness.WaitHTTP(b, "http://"+edgeAddr+"/readyz", 30*time.Second)
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	client := camstreamv1.NewCaptureServiceClient(conn)
	times := &captureTimes{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go times.follow(ctx, client, "steady")
	harness.WaitFor(b, 30*time.Second, "frames of the steady camera", func() bool { return times.count() > fps })

	round := 0
	for b.Loop() {
		var atCapture, atEdge []time.Duration
		var gap, idleGap time.Duration
		for range rounds {
			round++
			// One second without a reload, then one with: disjoint
			// windows of the same length.
			quiet := time.Now()
			time.Sleep(2 * time.Second)
			idleGap = max(idleGap, times.largestGap(quiet, quiet.Add(time.Second)))

			id := fmt.Sprintf("fresh-%d", round)
			swap := time.Now()
			harness.KubeletWrite(b, dir, map[string]string{"cameras.yaml": file(round)})
			var wg sync.WaitGroup
			var capErr, edgeErr error
			var dCapture, dEdge time.Duration
			wg.Go(func() { dCapture, capErr = firstFrameAtCapture(client, id, swap) })
			wg.Go(func() { dEdge, edgeErr = firstFrameAtEdge("http://"+edgeAddr+"/cameras/"+id+"/stream.mjpeg", swap) })
			wg.Wait()
			if capErr != nil || edgeErr != nil {
				b.Fatalf("round %d: capture %v, edge %v", round, capErr, edgeErr)
			}
			atCapture, atEdge = append(atCapture, dCapture), append(atEdge, dEdge)
			time.Sleep(max(0, time.Until(swap.Add(time.Second))))
			gap = max(gap, times.largestGap(swap, swap.Add(time.Second)))
		}
		slices.Sort(atCapture)
		slices.Sort(atEdge)
		b.ReportMetric(ms(atCapture[len(atCapture)/2]), "capture-first-frame-ms")
		b.ReportMetric(ms(atEdge[len(atEdge)/2]), "edge-first-frame-ms")
		b.ReportMetric(ms(gap), "steady-max-gap-ms")
		b.ReportMetric(ms(idleGap), "steady-max-gap-idle-ms")
		b.Logf("swap → first frame at capture %v, through the edge %v; steady camera's largest gap %v during reloads, %v without",
			atCapture, atEdge, gap, idleGap)
	}
}

// firstFrameAtCapture asks capture for the camera's frames until it has
// the camera, and returns the time from since to the first frame.
func firstFrameAtCapture(client camstreamv1.CaptureServiceClient, id string, since time.Time) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		stream, err := client.StreamFrames(ctx, &camstreamv1.StreamFramesRequest{CameraId: id})
		if err == nil {
			_, err = stream.Recv()
		}
		if err == nil {
			return time.Since(since), nil
		}
		if status.Code(err) != codes.NotFound {
			return 0, err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// firstFrameAtEdge opens the edge's stream until it answers with a frame,
// and returns the time from since to that frame.
func firstFrameAtEdge(url string, since time.Time) (time.Duration, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := loadclient.FirstFrame(ctx, url)
		cancel()
		if err == nil {
			return time.Since(since), nil
		}
		if time.Now().After(deadline) {
			return 0, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// captureTimes are the capture times of a camera's frames as a gRPC
// subscriber of capture receives them.
type captureTimes struct {
	mu sync.Mutex
	at []time.Time
}

func (c *captureTimes) follow(ctx context.Context, client camstreamv1.CaptureServiceClient, id string) {
	stream, err := client.StreamFrames(ctx, &camstreamv1.StreamFramesRequest{CameraId: id})
	if err != nil {
		return
	}
	for {
		m, err := stream.Recv()
		if err != nil {
			return
		}
		c.mu.Lock()
		c.at = append(c.at, m.GetFrame().GetCapturedAt().AsTime())
		c.mu.Unlock()
	}
}

func (c *captureTimes) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.at)
}

// largestGap is the largest step between the capture times of frames in
// [from, to].
func (c *captureTimes) largestGap(from, to time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var gap time.Duration
	var prev time.Time
	for _, t := range c.at {
		if t.Before(from) || t.After(to) {
			continue
		}
		if !prev.IsZero() {
			gap = max(gap, t.Sub(prev))
		}
		prev = t
	}
	return gap
}
